"""Sentence splitting and chunking: pure functions, table-driven."""

from __future__ import annotations

import pytest

from assistant.index.chunking import chunk_document, document_text, split_sentences
from assistant.types import Block, Document


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("En mening. En till.", ["En mening.", "En till."]),
        ("Det gäller t.ex. SFI och SO. Nästa mening.", ["Det gäller t.ex. SFI och SO.",
                                                          "Nästa mening."]),
        ("It costs ca. 5 kr. Fine.", ["It costs ca. 5 kr.", "Fine."]),
        ("Är det så? Ja! Bra.", ["Är det så?", "Ja!", "Bra."]),
        ("Lagen (2013:156) gäller. 269 av 290 kommuner deltog.",
         ["Lagen (2013:156) gäller.", "269 av 290 kommuner deltog."]),
        ("no capital after stop. so one sentence", ["no capital after stop. so one sentence"]),
        ("Löper ut (2025-12-31). Sedan ny.", ["Löper ut (2025-12-31).", "Sedan ny."]),
        ("   ", []),
    ],
)
def test_split_sentences(text: str, expected: list[str]) -> None:
    assert [text[a:b] for a, b in split_sentences(text)] == expected


def _doc(*blocks: Block) -> Document:
    return Document(doc="d.txt", blocks=blocks)


def test_chunks_keep_sections_pages_and_offsets() -> None:
    doc = _doc(
        Block("1 Inledning", 1, ("1 Inledning",), "heading"),
        Block("Första meningen här. Andra meningen här.", 1, ("1 Inledning",)),
        Block("2 Ansvar", 2, ("2 Ansvar",), "heading"),
        Block("Försäkringskassan betalar ut ersättningen. Kommunen ordnar boende för", 2,
              ("2 Ansvar",)),
        Block("den som fått uppehållstillstånd.", 3, ("2 Ansvar",)),  # cut by the page break
    )
    chunks = chunk_document(doc, target_words=90, max_words=140, min_words=3)
    text = document_text(doc)
    assert [c.section for c in chunks] == [("1 Inledning",), ("2 Ansvar",)]
    second = chunks[1]
    assert (second.page_start, second.page_end) == (2, 3)
    assert text[second.start : second.end] == second.text
    assert second.sentence_texts() == ["2 Ansvar", "Försäkringskassan betalar ut ersättningen.",
                                       "Kommunen ordnar boende för",
                                       "den som fått uppehållstillstånd."]
    assert [s.page for s in second.sentences] == [2, 2, 2, 3]
    assert [c.id for c in chunks] == ["d.txt#0", "d.txt#1"]


def test_chunks_respect_size_and_overlap() -> None:
    sentences = " ".join(f"Mening nummer {i} har sex ord." for i in range(40))
    doc = _doc(Block(sentences, None, ("A",)))
    chunks = chunk_document(doc, target_words=30, max_words=40, overlap_sentences=1)
    assert len(chunks) > 5
    for chunk in chunks:
        assert len(chunk.text.split()) <= 40
    for before, after in zip(chunks, chunks[1:], strict=False):
        assert before.sentence_texts()[-1] == after.sentence_texts()[0]


def _paragraph(words: int, topic: str) -> str:
    """A paragraph of `words` words in sentences of five."""
    return " ".join(f"Svaret om {topic} nummer {i}." for i in range(words // 5))


def test_a_paragraph_that_would_not_fit_starts_a_chunk_without_overlap() -> None:
    answers = [_paragraph(60, "vaccin"), _paragraph(55, "familjehem"), _paragraph(40, "avrop")]
    chunks = chunk_document(_doc(*(Block(a, None, ("FAQ",)) for a in answers)),
                            target_words=90, max_words=140)
    # each answer whole in one chunk, not ended by the next answer's first sentence
    assert [c.text for c in chunks] == answers


def test_short_paragraphs_are_packed_and_a_long_one_is_cut_with_overlap() -> None:
    short = [_paragraph(20, "mål"), _paragraph(20, "delmål"), _paragraph(20, "insats")]
    long = _paragraph(200, "uppföljning")
    chunks = chunk_document(_doc(*(Block(t, None, ("A",)) for t in (*short, long))),
                            target_words=90, max_words=140)
    assert chunks[0].text.split("\n\n") == short  # packed: together they fit
    inside = chunks[1:]
    assert len(inside) >= 2 and all("uppföljning" in c.text for c in inside)
    for before, after in zip(inside, inside[1:], strict=False):
        assert before.sentence_texts()[-1] == after.sentence_texts()[0]


def test_short_section_joins_the_next_one() -> None:
    doc = _doc(
        Block("Mål", None, ("Mål",), "heading"),
        Block("Kort.", None, ("Mål",)),
        Block("Delmål", None, ("Mål", "Delmål"), "heading"),
        Block("Svenska språket", None, ("Mål", "Delmål"), "item"),
        Block("Hälsa", None, ("Mål", "Delmål"), "item"),
    )
    chunks = chunk_document(doc, min_words=25)
    assert len(chunks) == 1
    assert "Svenska språket" in chunks[0].text and "Hälsa" in chunks[0].text
    assert [s.section for s in chunks[0].sentences] == [
        ("Mål",), ("Mål",), ("Mål", "Delmål"), ("Mål", "Delmål"), ("Mål", "Delmål")]


def test_top_level_section_change_always_splits() -> None:
    doc = _doc(Block("Kort.", None, ("A",)), Block("Också kort.", None, ("B",)))
    assert len(chunk_document(doc)) == 2


def test_list_items_keep_the_sentence_that_introduces_them() -> None:
    doc = _doc(
        Block("Hälsa", 1, ("Hälsa",), "heading"),
        Block("En god hälsa är en grund. Med den bakgrunden formulerades två delmål:", 1,
              ("Hälsa",)),
        Block("Tidig upptäckt av ohälsa.", 1, ("Hälsa",), "item"),
        Block("Stöd för en god hälsa.", 1, ("Hälsa",), "item"),
        Block("Arbetet fortsatte.", 1, ("Hälsa",)),
        Block("Ett fristående listobjekt.", 1, ("Hälsa",), "item"),
    )
    [chunk] = chunk_document(doc, target_words=200)
    leads = dict(zip(chunk.sentence_texts(), (s.lead for s in chunk.sentences), strict=True))
    assert leads == {
        "Hälsa": None,
        "En god hälsa är en grund.": None,
        "Med den bakgrunden formulerades två delmål:": None,
        "Tidig upptäckt av ohälsa.": "Med den bakgrunden formulerades två delmål:",
        "Stöd för en god hälsa.": "Med den bakgrunden formulerades två delmål:",
        "Arbetet fortsatte.": None,
        "Ett fristående listobjekt.": None,  # the paragraph before it introduces no list
    }
