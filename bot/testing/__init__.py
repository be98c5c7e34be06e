"""Drivers for end-to-end tests and benchmarks only (a real stack in a subprocess, synthetic households)."""
