"""A member's rights over their data: export everything held, erase what identifies them."""
