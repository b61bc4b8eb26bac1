"""The nightly work on a schedule: each job once per due time, across restarts and processes."""
