"""Benchmarks that print figures beside the physical floor measured in the same run."""
