"""Stores, the category tree and products: the shop's master data."""
