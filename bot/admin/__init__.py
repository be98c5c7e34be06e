"""A manufacturer's admin services: catalog import, aggregated devices and offers, exports, device tokens."""
