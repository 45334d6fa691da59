"""Language detection: langdetect's verdicts, with its profiles held where the garbage
collector does not walk them."""

from __future__ import annotations

import gc

from assistant.lang.detect import detect_language, load_profiles


def test_detect_language_names_the_language_or_says_it_cannot_tell() -> None:
    assert detect_language("Vem betalar ut etableringsersättning till nyanlända?") == "sv"
    assert detect_language("Who pays the establishment benefit to newly arrived refugees?") == "en"
    assert detect_language("1234 !!") == "und"


def test_language_profiles_leave_the_garbage_collector_nothing_to_walk() -> None:
    # as langdetect builds them, 87,598 lists of 55 probabilities: every full collection of
    # the process walked their 4.8 million entries (70-90 ms a collection)
    load_profiles()
    gc.collect()
    rows = [o for o in gc.get_objects() if type(o) in (list, tuple) and len(o) == 55]
    assert len(rows) < 100
