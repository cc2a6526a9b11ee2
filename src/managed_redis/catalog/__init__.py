"""Static facts of the service: resource presets, zones, and the Redis versions on this machine."""
