"""Speech to text: a small interface, the Vosk engine, VAD-endpointed streaming and grammar mode."""
