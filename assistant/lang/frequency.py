"""Word frequencies of a language (wordfreq's lists), loaded once and shared."""

from __future__ import annotations

from functools import cache

__all__ = ["frequencies"]


@cache
def frequencies(language: str) -> dict[str, float]:
    """wordfreq's frequency of each word of a language (share of all words), loaded lazily."""
    from wordfreq import get_frequency_dict

    return get_frequency_dict(language)
