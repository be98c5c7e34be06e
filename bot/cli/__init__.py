"""The ``bot`` command line: one module per command group, and the gateway clients (chat, voice, HTTP)."""
