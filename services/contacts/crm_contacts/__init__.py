"""The contacts service: workspaces, contacts, and what other services ask about them."""
