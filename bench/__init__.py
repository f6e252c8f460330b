"""Benchmarks: each module prints its figures next to its floor and returns them by metric name."""
