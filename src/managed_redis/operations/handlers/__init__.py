"""Operation handlers, one module per area; each handler reads as a list of steps."""
