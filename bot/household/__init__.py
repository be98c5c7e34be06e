"""A household's own data and rights: consent, data rights, green points ledger, device status."""
