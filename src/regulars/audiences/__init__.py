"""Audiences: saved, named definitions of which members a campaign speaks to."""
