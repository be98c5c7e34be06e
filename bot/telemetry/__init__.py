"""Telemetry: vendor adapters, normalised readings, ingest without double counting, day totals."""
