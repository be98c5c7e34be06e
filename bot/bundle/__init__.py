"""Versioned skill bundles: one archive per release (model, spaCy pipeline, tenant, catalog, grammar).

``build`` makes the archive, ``verify`` checks it, ``install`` unpacks and activates it under
``var/bundles/`` and ``active`` tells the stack and ``/healthz`` which bundle serves.
"""
