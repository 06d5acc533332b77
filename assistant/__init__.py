"""Kansai Vision Assistant: cited answers over the Kansai industrial vision."""

__version__ = "0.1.0"
