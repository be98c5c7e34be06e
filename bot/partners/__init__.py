"""The partner side: signed outbox deliveries out, signed decisions in, the demo simulator."""
