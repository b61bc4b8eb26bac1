"""Idempotency keys: a retried request gets the first answer instead of acting twice."""
