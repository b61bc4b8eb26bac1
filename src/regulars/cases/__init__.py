"""Cases: complaints and feedback from every channel, handled through a tracked workflow
against service levels counted in the responsible store's business hours."""
