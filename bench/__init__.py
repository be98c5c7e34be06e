"""Benchmarks: ``python -m bench`` (``make bench``) → bench/results.json and bench/RESULTS.md."""
