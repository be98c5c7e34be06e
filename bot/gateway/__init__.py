"""The aiohttp gateway: the only process that faces the network."""
