"""Which language a text is in."""

from __future__ import annotations


def detect_language(text: str) -> str:
    """ISO code of the text's language by langdetect (seeded, so repeatable); 'und' if unsure."""
    from langdetect import DetectorFactory, LangDetectException, detect

    DetectorFactory.seed = 0
    try:
        return str(detect(text[:5000]))
    except LangDetectException:
        return "und"


def load_profiles() -> None:
    """Load langdetect's language profiles now (about a second) instead of on the first text."""
    from langdetect.detector_factory import init_factory

    init_factory()
