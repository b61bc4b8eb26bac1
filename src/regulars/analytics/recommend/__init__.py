"""Personal recommendations: buy again, you may also like, next best offer.

Learned from the warehouse (or a plain transactions file) up to a day, checked on a time
split against two baselines, and written as a top-N list per member for the profiles.
"""
