"""The sources report: contacts per source and won per source."""
