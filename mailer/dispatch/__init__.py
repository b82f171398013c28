"""The one sending pipeline: audience, batches, transports."""
