"""Demo data only (tenants, households, a year of readings, tokens); production code never imports it."""
