"""The HTTP API: thin routers over the feature services."""
