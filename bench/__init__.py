"""Benchmarks: `make bench` runs them all and prints each figure beside baselines measured in the same run."""
