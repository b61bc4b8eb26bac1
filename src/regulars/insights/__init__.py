"""What the analyses learned about each member, stored on their profile for targeting."""
