"""companion: keeps an Obsidian vault indexed, linked and searchable; the markdown is the truth."""

__version__ = "0.1.0"
