"""A synthetic supermarket chain whose hidden truths analytics can be checked against."""
