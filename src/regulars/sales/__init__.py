"""Receipts from every store and channel, and their refunds."""
