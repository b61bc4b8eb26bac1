"""Members, their identity and their marketing consent."""
