"""Campaigns and member care: a message or an offer to an audience, through the channels
each member agreed to, with a control group that measures what it earned."""
