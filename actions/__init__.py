"""Rasa custom actions: thin adapters from slots to ``bot`` services and ``domain.yml`` responses."""
