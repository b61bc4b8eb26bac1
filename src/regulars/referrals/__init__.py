"""Member-gets-member: both sides rewarded after the new member's first qualifying purchase."""
