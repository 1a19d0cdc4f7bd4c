"""Typed clients of the services' gRPC APIs, shared by every service that calls them."""
