"""Table-driven tests of the English–Swedish terms file and its matcher in assistant.lang.terms."""

from __future__ import annotations

import pytest

from assistant.errors import TermsFileError
from assistant.lang.fold import fold
from assistant.lang.terms import (
    KINDS,
    expand_query,
    expansions,
    gloss,
    gloss_text,
    load_terms,
    parse_terms,
)

HEADER = "sv\ten\tkind\tsource\n"


def tsv(*rows: str) -> str:
    """A terms file with the header and the given tab-separated rows."""
    return HEADER + "".join(row + "\n" for row in rows)


# A tiny world for matching rules the bundled file need not exercise.
TOY = parse_terms(tsv(
    "förmån\tbenefit\tbenefit\tx",
    "etableringsförmån\testablishment benefit\tbenefit\tx",
    "lag\tlaw\tlaw\tx",
    "kommun\tmunicipality\tauthority\tx",
    "handläggare\tcaseworker\trole\tx",
    "program\tprogramme\tprogramme\tx",
), "toy")


def test_bundled_file_has_enough_well_formed_entries() -> None:
    terms = load_terms()
    assert len(terms) >= 170
    for term in terms:
        assert term.sv and term.en and all(term.en), term
        assert term.kind in KINDS, term
        assert term.source.strip(), term
    assert KINDS <= {term.kind for term in terms}


def test_bundled_file_has_no_duplicate_swedish_terms() -> None:
    folded = [fold(term.sv) for term in load_terms()]
    assert len(folded) == len(set(folded))


def test_load_terms_is_cached() -> None:
    assert load_terms() is load_terms()


@pytest.mark.parametrize(
    ("query", "target"),
    [
        # English → Swedish, with plurals and possessives
        ("Who pays establishment benefits?", "etableringsersättning"),
        ("the Swedish Migration Agency's decision", "Migrationsverket"),
        ("How long are residence permits valid?", "uppehållstillstånd"),
        ("unaccompanied minors in foster homes", "ensamkommande barn"),
        ("quota refugees", "kvotflykting"),
        ("What do County Administrative Boards do?", "länsstyrelse"),
        ("Swedish for Immigrants", "svenska för invandrare"),
        ("the Settlement Act", "bosättningslagen"),
        # Swedish → English, with definite, plural and genitive endings
        ("Vem betalar etableringsersättningen?", "establishment benefit"),
        ("Vad gör länsstyrelserna?", "County Administrative Board"),
        ("Länsstyrelsens beslut om kommuntalet", "municipal number"),
        ("kommunernas ansvar", "municipality"),
        ("handläggarna på Arbetsförmedlingens kontor", "caseworker"),
        ("handläggarna på Arbetsförmedlingens kontor", "Swedish Public Employment Service"),
        ("etableringsprogrammet", "establishment programme"),
        ("introduktionsprogrammen", "introductory programme"),
        ("strategiska överenskommelser", "strategic agreement"),
        ("SKR:s rapport", "Swedish Association of Local Authorities and Regions"),
        ("kurser i sfi", "Swedish for Immigrants"),
        # OCR text that lost its diacritics, and a law quoted with its SFS number
        ("FORSAKRINGSKASSAN betalar", "Swedish Social Insurance Agency"),
        (
            "lagen (2016:38) om mottagande av vissa nyanlända invandrare för bosättning",
            "Act on the Reception of Certain Newly Arrived Immigrants for Settlement",
        ),
    ],
)
def test_expansion_finds_the_other_language(query: str, target: str) -> None:
    targets = [t for e in expansions(query) for t in e.targets]
    assert target in targets
    assert expand_query(query).startswith(query + " ")
    assert target in expand_query(query)


@pytest.mark.parametrize(
    ("query", "matched", "lang"),
    [
        ("Vem betalar etableringsersättningen?", "etableringsersättningen", "sv"),
        ("Who pays establishment benefits?", "establishment benefits", "en"),
        ("Försäkringskassans beslut", "Försäkringskassans", "sv"),
    ],
)
def test_expansion_reports_the_words_as_written(query: str, matched: str, lang: str) -> None:
    (found,) = expansions(query)
    assert (found.matched, found.lang) == (matched, lang)


@pytest.mark.parametrize(
    ("query", "terms", "matched", "sv"),
    [
        ("Who pays establishment benefits?", TOY, "establishment benefits", "etableringsförmån"),
        ("a benefit", TOY, "benefit", "förmån"),
        ("the establishment programme", None, "establishment programme", "etableringsprogram"),
        ("permanent uppehållstillstånd", None, "permanent uppehållstillstånd",
         "permanent uppehållstillstånd"),
        ("ensamkommande barn", None, "ensamkommande barn", "ensamkommande barn"),
    ],
)
def test_longest_match_wins(query: str, terms: tuple | None, matched: str, sv: str) -> None:
    found = expansions(query, terms)
    assert [(e.matched, e.term.sv) for e in found] == [(matched, sv)]


@pytest.mark.parametrize(
    "query",
    [
        "förslag om samlag är lagom",  # "lag" inside or at the start of other words
        "kommunikation och kommunalråd",  # "kommun" followed by no inflection ending
        "handläggning",
        "programmering",
    ],
)
def test_no_match_inside_a_word(query: str) -> None:
    assert expansions(query, TOY) == []
    assert expand_query(query, TOY) == query


@pytest.mark.parametrize(
    ("query", "sv"),
    [
        ("lagen", "lag"),
        ("kommunerna", "kommun"),
        ("handläggarna", "handläggare"),
        ("programmet", "program"),
        ("municipalities", "kommun"),
        ("programmes", "program"),
    ],
)
def test_inflected_forms_match(query: str, sv: str) -> None:
    assert [e.term.sv for e in expansions(query, TOY)] == [sv]


@pytest.mark.parametrize(
    "query", ["andra länder", "Kan jag låna pengar?", "unemployment", "sfinx", "Hur mår du?", ""],
)
def test_bundled_terms_leave_unrelated_words_alone(query: str) -> None:
    assert all(e.term.sv not in ("län", "sysselsättning", "sfi") for e in expansions(query))


def test_each_term_expands_once_and_targets_are_not_repeated() -> None:
    query = "Försäkringskassan och Försäkringskassans handläggare"
    assert [e.term.sv for e in expansions(query)] == ["Försäkringskassan", "handläggare"]
    expanded = expand_query(query)
    assert expanded.count("Swedish Social Insurance Agency") == 1


def test_terms_the_same_in_both_languages_do_not_expand() -> None:
    assert expansions("integration i regionen") == []


@pytest.mark.parametrize(
    ("text", "glossed"),
    [
        (
            "Försäkringskassan betalar. Sedan betalar Försäkringskassan igen.",
            "Försäkringskassan (Swedish Social Insurance Agency) betalar. "
            "Sedan betalar Försäkringskassan igen.",
        ),
        (
            "Försäkringskassans beslut om etableringsersättningen.",
            "Försäkringskassans (Swedish Social Insurance Agency) beslut om "
            "etableringsersättningen (introduction benefit).",
        ),
        ("SKR:s stöd", "SKR:s (Swedish Association of Local Authorities and Regions) stöd"),
        # a plural mention gets a plural gloss
        (
            "Länsstyrelserna och kommunerna samverkar med länsstyrelsen.",
            "Länsstyrelserna (County Administrative Boards) och kommunerna (municipalities) "
            "samverkar med länsstyrelsen.",
        ),
        # only the first mention outside a hyphenated compound
        ("sfi-lärare och sfi", "sfi-lärare och sfi (Swedish for Immigrants)"),
        # the SFS number stays with the law's name
        ("enligt utlänningslagen (2005:716) gäller", "enligt utlänningslagen (2005:716) "
         "(Aliens Act) gäller"),
        # concepts and roles are not glossed, nor are names already glossed
        ("uppehållstillstånd och handläggare", "uppehållstillstånd och handläggare"),
        (
            "Migrationsverket (Swedish Migration Agency) beslutar.",
            "Migrationsverket (Swedish Migration Agency) beslutar.",
        ),
        ("Försäkringskassan-ärenden", "Försäkringskassan-ärenden"),
        ("", ""),
    ],
)
def test_gloss_text_for_english_readers(text: str, glossed: str) -> None:
    assert gloss_text(text) == glossed


def test_gloss_text_for_swedish_readers() -> None:
    text = "The Swedish Social Insurance Agency's decision on introduction benefit."
    assert gloss_text(text, lang="sv") == (
        "The Swedish Social Insurance Agency's (Försäkringskassan) decision on "
        "introduction benefit (etableringsersättning)."
    )


def test_gloss_text_rejects_other_languages() -> None:
    with pytest.raises(ValueError, match="lang"):
        gloss_text("text", lang="de")


@pytest.mark.parametrize(
    ("term", "english"),
    [
        ("Försäkringskassan", "Swedish Social Insurance Agency"),
        ("Försäkringskassans", "Swedish Social Insurance Agency"),
        ("etableringsersättningen", "introduction benefit"),
        ("länsstyrelserna", "County Administrative Board"),
        ("okänt ord", None),
        ("Försäkringskassan betalar", None),
        ("", None),
    ],
)
def test_gloss_of_a_single_term(term: str, english: str | None) -> None:
    assert gloss(term) == english


def test_parse_terms_skips_comments_and_blank_lines() -> None:
    text = "# a comment\n\n" + tsv("tolk\tinterpreter | translator\trole\tKammarkollegiet")
    (term,) = parse_terms(text)
    assert (term.sv, term.en, term.kind) == ("tolk", ("interpreter", "translator"), "role")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("svenska\tengelska\tkind\tsource\n", "line 1: expected the header"),
        (tsv("tolk\tinterpreter\trole"), "line 2: expected 4 tab-separated columns"),
        (tsv("tolk\tinterpreter\tperson\tx"), "line 2: unknown kind 'person'"),
        (tsv("tolk\tinterpreter\trole\t "), "line 2: empty source"),
        (tsv("tolk\tinterpreter | \trole\tx"), "line 2: empty English name"),
        (tsv("tolk\t--\trole\tx"), "line 2: a name has no words"),
        (tsv("länsstyrelse\tCAB\tauthority\tx", "Lansstyrelse\tCAB\tauthority\tx"),
         "line 3: 'Lansstyrelse' repeats the term on line 2"),
        ("# only a comment\n", "no header line"),
    ],
)
def test_malformed_file_names_the_line(text: str, message: str) -> None:
    with pytest.raises(TermsFileError, match=message) as caught:
        parse_terms(text, "terms.tsv")
    assert str(caught.value).startswith("terms.tsv")
