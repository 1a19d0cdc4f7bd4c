"""Development tools of the CRM platform (``crm up`` and the stack the end-to-end tests start); not in images."""
