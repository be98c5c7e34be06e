"""The one offer service (decide → audit → record), its types, the offer audit and applications."""
