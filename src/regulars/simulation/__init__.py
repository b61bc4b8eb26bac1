"""What-if on history: a proposed program priced over recorded receipts."""
