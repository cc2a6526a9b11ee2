"""What a cluster is declared to be, shared by the services and the operation handlers:
its stored spec, its Redis configuration, its topology rules."""
