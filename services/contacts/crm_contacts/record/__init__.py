"""The contact record every feature builds on: its tables, who sees it, its rules and its events."""
