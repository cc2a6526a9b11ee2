"""One module per proto service: authorize, check, read the store, submit operations."""
