"""The names other services give their members, stages, types and sources, and the workspace's time zone."""
