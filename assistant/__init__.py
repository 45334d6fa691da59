"""Semantic search and cited answers over Swedish integration-work documents."""

__version__ = "0.1.0"
