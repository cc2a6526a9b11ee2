"""The transports: gRPC server, REST gateway, authentication, validation, error mapping."""
