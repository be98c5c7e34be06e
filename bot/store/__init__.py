"""Storage: sqlmodel tables (``models``), the engine factory (``db``) and small repository functions."""
