"""Bulk import of members and receipts from CSV or Parquet, with a rejects file beside the input."""
