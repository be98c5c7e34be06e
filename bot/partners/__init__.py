"""The partner side of an application: signed outbox deliveries out, signed decisions in, the demo simulator."""
