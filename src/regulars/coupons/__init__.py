"""Coupon templates, coupons issued to members, and their redemption at the till."""
