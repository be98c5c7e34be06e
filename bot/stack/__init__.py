"""``bot up``: start Rasa, the action server and the gateway, supervise them, stop them as a group."""
