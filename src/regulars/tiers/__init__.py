"""Membership tiers: qualification, upgrades, the yearly review and its history."""
