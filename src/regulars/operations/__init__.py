"""Running the service: health, metrics and request logs for the chain's IT."""
