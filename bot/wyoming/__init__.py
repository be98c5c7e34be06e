"""The Wyoming service for Home Assistant: speech to text, text to speech, conversation as device turns."""
