"""Text to speech: a small interface, pyttsx3/espeak-ng on a dedicated thread, Chinese number reading."""
