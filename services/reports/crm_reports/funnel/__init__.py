"""The funnel report: contacts per stage and type, won and lost, conversion and time per stage."""
