"""Long-running operations: submission, the worker that runs them, and their handlers."""
