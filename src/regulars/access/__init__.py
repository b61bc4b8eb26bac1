"""Who may call the API: keys for tills and staff, short-lived tokens for members."""
