"""The designer studio's services: outcome-level conversation tests, responses, training data, flows."""
