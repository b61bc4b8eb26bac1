"""Journeys: member care that starts by itself (a welcome, a birthday, points about to lapse)
and runs its steps for each member who enters, with a control group that gets nothing."""
