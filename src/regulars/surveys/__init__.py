"""Surveys: what members are asked (NPS, CSAT, effort, ratings of the shop's attributes,
overall satisfaction, their own words), who is invited when, and their answers."""
