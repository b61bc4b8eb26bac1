"""Basket analysis: exact frequent itemsets and association rules over receipts.

Supports and confidences are compared as whole numbers (``count * den >= num * N``), so
the rules found at a threshold are exactly the rules at or above it; see ``rules.py`` for
why floating-point tools report fewer.
"""
