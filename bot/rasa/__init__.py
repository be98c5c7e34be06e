"""Serving and training Rasa: the adapted server, training by fingerprint, endpoints, store checks, probes."""
