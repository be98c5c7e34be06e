"""One module per conversation topic, each serving its ``actions/<topic>.py`` over the services below."""
