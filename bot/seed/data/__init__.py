"""Packaged data files (the demo catalog)."""
