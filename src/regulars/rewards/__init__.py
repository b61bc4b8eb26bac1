"""The rewards catalogue: gifts and coupons members buy with points."""
