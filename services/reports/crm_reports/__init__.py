"""The reports service: read models built only from the other services' events."""
