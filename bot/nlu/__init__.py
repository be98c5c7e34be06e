"""Chinese understanding: text and numeral normalisation, catalog lexicon, spaCy and Rasa components.

Runs in both environments (the engine's Python 3.10 inside Rasa, the app's 3.11 for the CLI): only
the standard library, :mod:`bot.nlu.normalize` and :mod:`bot.errors` are imported here, and nothing
is loaded at import time.
"""
