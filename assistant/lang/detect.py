"""Which language a text is in."""

from __future__ import annotations

from functools import cache
from typing import Any


def detect_language(text: str) -> str:
    """ISO code of the text's language by langdetect (seeded, so repeatable); 'und' if unsure."""
    from langdetect import LangDetectException

    detector = _factory().create()
    try:
        detector.append(text[:5000])
        return str(detector.detect())
    except LangDetectException:
        return "und"


def load_profiles() -> None:
    """Load langdetect's language profiles now (about a third of a second) instead of on the
    first text that needs them."""
    _factory()


@cache
def _factory() -> Any:
    """langdetect's detector factory with its profiles, loaded once and seeded.

    Its table holds a row of 55 language probabilities for each of 87,598 n-grams. As lists,
    every full garbage collection of the process walked those 4.8 million entries: 70-90 ms a
    collection in a build at 20,000 documents (bench/RESULTS.md, issue 15). As tuples of
    floats, the collector stops tracking them; the detector only reads them."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    factory.load_profile(PROFILES_DIRECTORY)
    factory.word_lang_prob_map = {gram: tuple(row)
                                  for gram, row in factory.word_lang_prob_map.items()}
    factory.set_seed(0)
    return factory
