"""Benchmarks run on demand (`make bench`), never in the default test run."""
