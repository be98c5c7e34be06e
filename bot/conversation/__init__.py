"""A turn end to end: device → serialised dialogue (Rasa) → replies; the voice pipeline; grammar per state."""
