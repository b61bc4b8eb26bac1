"""Version stamps of rarely changing data, so each process can keep a copy of it."""
