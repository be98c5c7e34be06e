"""Speech engines: audio, VAD, model registry, speech to text, text to speech (bytes and phrases only)."""
