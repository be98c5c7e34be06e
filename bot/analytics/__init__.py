"""Analytics from Rasa's event broker: map tracker events to rows, consume them, report aggregates."""
