"""Promotions priced at the till: which offers apply to a cart, and for how much."""
