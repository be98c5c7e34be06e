"""Manufacturers as tenants: each tenant's validated configuration (features, caps, partners, wording)."""
