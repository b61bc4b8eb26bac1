"""The points ledger: earning, spending, reversing and expiring points, lot by lot."""
