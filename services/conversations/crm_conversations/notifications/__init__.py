"""Email to a member about a contact's message they have not read while not connected (issue 11)."""
