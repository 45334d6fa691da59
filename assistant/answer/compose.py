"""Answers from retrieved passages: the sentences that answer, quoted and cited, or a refusal.

Pure functions over hits and per-sentence similarities; the engine supplies both. Nothing is
written here that the documents do not say: the answer is made of quoted sentences, each
followed by the number of its citation, plus fixed sentences for refusals. What the question
is (its language and kind) lives in ``question``, follow-ups in ``conversation``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from assistant.answer.question import question_kind, satisfies
from assistant.lang import lexicon
from assistant.lang.terms import gloss_text
from assistant.types import Answer, Citation, Hit

__all__ = ["PASSAGES", "REFUSAL", "Candidate", "compose", "is_fragment", "is_heading", "passages",
           "refusal", "sentence_candidates"]

# The fixed "the documents do not say" sentence of each language (its refusal.txt).
REFUSAL = {lang: lexicon.entries("refusal", lang)[0] for lang in lexicon.languages()
           if lexicon.entries("refusal", lang)}
# The opening of a "these passages may answer it" answer in each language (its passages.txt).
PASSAGES = {lang: lexicon.entries("passages", lang)[0] for lang in lexicon.languages()
            if lexicon.entries("passages", lang)}
SHOWN_PASSAGES = 3  # passages quoted when no sentence is stated as the answer


# --- choosing sentences -----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, scored as an answer to the question."""

    hit_rank: int  # 0-based rank of its chunk in the hits
    index: int  # sentence number within the chunk
    score: float


def _clean(text: str) -> str:
    return " ".join(text.split())


def is_heading(hit: Hit, index: int) -> bool:
    """Is sentence `index` of a hit's chunk one of its section headings?"""
    text = _clean(hit.chunk.sentence_texts()[index])
    sections = (*hit.chunk.section, *hit.chunk.sentences[index].section)
    return any(text == _clean(heading) for heading in sections)


# A piece shorter than FRAGMENT_WORDS words, or shorter than SENTENCE_WORDS words without a
# closing mark, cannot answer on its own (judgement call, on the corpus's list labels).
FRAGMENT_WORDS = 4
SENTENCE_WORDS = 9


def is_fragment(text: str) -> bool:
    """List labels, captions and other pieces too short to answer on their own."""
    text = text.strip()
    return len(text.split()) < FRAGMENT_WORDS or text.endswith(":") or (
        len(text.split()) < SENTENCE_WORDS and not text.endswith((".", "!", "?", ")")))


# Weights of the sentence score, measured on the dev questions with bench/ask.py
# (bench/RESULTS.md, "Sentence-choice weights" and "Quoting the next sentence too").
SUPPORT_WEIGHT = 0.1  # share of the question's concepts in the sentence (0..1)
LEAD_RANK_PENALTY = 0.02  # a lower-ranked passage leads only if its sentence is this much better
LEAD_POOL = 3  # passages whose sentences may lead the answer
ADJACENT_MARGIN = 0.1  # the sentence after the lead joins its quote when it scores this close
# Judgement calls, set when sentence choice was written and kept since (not swept):
HEADING_PENALTY = 0.2  # a section heading repeats the question's words but answers nothing
LIST_LEAD_BONUS = 0.02  # a list question prefers a lead-in ending in ":"
FRAGMENT_PENALTY = 0.1  # see is_fragment
UNSATISFIED_PENALTY = 0.05  # no actor, date or number where the question kind asks for one
SECOND_MARGIN = 0.015  # a second sentence is quoted only when it scores this close to the lead
# A list's items: at most LIST_ITEMS sentences after its lead-in, each a short item (judgement
# call): a sentence of more than ITEM_WORDS words, or more than ITEM_SENTENCE_WORDS ending in
# ".", is running text and ends the list.
LIST_ITEMS = 12
ITEM_WORDS = 20
ITEM_SENTENCE_WORDS = 8


def sentence_candidates(hit: Hit, rank: int, similarities: np.ndarray, support: np.ndarray,
                        kind: str) -> list[Candidate]:
    """A chunk's sentences scored as answers: similarity to the question and share of its
    concepts, plus what the question kind asks for (an actor, a date, a number), minus
    headings and fragments."""
    texts = hit.chunk.sentence_texts()
    candidates = []
    for i, sim in enumerate(similarities):
        score = float(sim) + SUPPORT_WEIGHT * float(support[i])
        if is_heading(hit, i):
            score -= HEADING_PENALTY
        elif kind == "list" and texts[i].rstrip().endswith(":"):
            score += LIST_LEAD_BONUS
        elif is_fragment(texts[i]):
            score -= FRAGMENT_PENALTY
        if not satisfies(kind, texts[i]):
            score -= UNSATISFIED_PENALTY
        candidates.append(Candidate(rank, i, score))
    return sorted(candidates, key=lambda c: (-c.score, c.index))


def _list_items(hit: Hit, index: int, limit: int = LIST_ITEMS) -> int:
    """Index of the last short item following sentence `index` (a list's lead-in), or `index`."""
    texts = hit.chunk.sentence_texts()
    last = index
    for j in range(index + 1, min(len(texts), index + 1 + limit)):
        words = len(texts[j].split())
        if words > ITEM_WORDS or (words > ITEM_SENTENCE_WORDS and texts[j].rstrip().endswith(".")):
            break  # a sentence of running text: the list has ended
        last = j
    return last


def _citation(n: int, hit: Hit, first: int, last: int) -> Citation:
    sentences = hit.chunk.sentences
    start, end = sentences[first].start, sentences[last].end
    return Citation(n=n, hit=hit, quote=_clean(hit.chunk.text[start:end]), start=start, end=end,
                    page=sentences[first].page, section=sentences[first].section)


def _lead(per_hit: list[list[Candidate]]) -> Candidate | None:
    """The sentence that leads the answer: the best of the first passages, a lower-ranked one
    only when it beats the higher by LEAD_RANK_PENALTY per rank."""
    return max((c[0] for c in per_hit if c),
               key=lambda c: (c.score - LEAD_RANK_PENALTY * c.hit_rank, -c.hit_rank),
               default=None)


def _quote_end(hits: Sequence[Hit], lead: Candidate, ranked: list[Candidate], kind: str) -> int:
    """The last sentence of the lead's quote: a list's items, or the sentence after the lead
    when it completes it ("Projektet genomförs av …" after the sentence naming the project)."""
    hit = hits[lead.hit_rank]
    if kind == "list":
        return _list_items(hit, lead.index)
    follow = next((c for c in ranked if c.index == lead.index + 1), None)
    texts = hit.chunk.sentence_texts()
    if follow is not None and follow.score >= lead.score - ADJACENT_MARGIN and not (
            is_heading(hit, follow.index) or is_fragment(texts[follow.index])):
        return follow.index
    return lead.index


def _seconds(hits: Sequence[Hit], per_hit: list[list[Candidate]], lead: Candidate, end: int,
             max_sentences: int) -> list[Candidate]:
    """Further sentences that score nearly as well as the lead, from its passage or the next one
    in the same language, none repeating what is already quoted."""
    lead_hit = hits[lead.hit_rank]
    ranked = per_hit[lead.hit_rank]
    pool = [c for c in ranked[1:] if not lead.index <= c.index <= end]
    nxt = lead.hit_rank + 1
    if nxt < len(per_hit) and hits[nxt].info.language == lead_hit.info.language:
        pool += per_hit[nxt]
    seen = {_clean(t) for t in lead_hit.chunk.sentence_texts()[lead.index:end + 1]}
    chosen = [lead]
    for cand in sorted(pool, key=lambda c: (-c.score, c.hit_rank, c.index)):
        if len(chosen) >= max_sentences or cand.score < lead.score - SECOND_MARGIN:
            break
        text = _clean(hits[cand.hit_rank].chunk.sentence_texts()[cand.index])
        if text not in seen and not is_fragment(text):
            seen.add(text)
            chosen.append(cand)
    return chosen[1:]


def _quote(hit: Hit, first: int, last: int, kind: str, language: str) -> str:
    """The quoted sentences, a list's items joined by ";", glossed for an English answer."""
    quoted = [_clean(t) for t in hit.chunk.sentence_texts()[first:last + 1]]
    body = (f"{quoted[0]} {'; '.join(quoted[1:])}" if kind == "list" and len(quoted) > 1
            else " ".join(quoted))
    if language == "en" and hit.info.language == "sv":
        body = gloss_text(body, "en")  # "Försäkringskassan (Swedish Social Insurance Agency)"
    return body


def compose(question: str, resolved: str, language: str, hits: Sequence[Hit],
            similarities: Sequence[np.ndarray], support: Sequence[np.ndarray],
            max_sentences: int = 2, weak: bool = False) -> Answer:
    """An answer quoting the top passage's best sentences, each followed by its citation [n].

    The top passage leads (retrieval has already weighed dense, sentence and lexical evidence);
    a second sentence is added when it scores nearly as well, from the same passage or the next
    one in the same language. A list question gets the items that follow its lead-in. When the
    evidence is `weak`, or a who, when or how-many question's best sentence names no actor,
    date or number, the passages are shown without stating one of them as the answer.
    """
    kind = question_kind(resolved)
    per_hit = [sentence_candidates(hits[r], r, similarities[r], support[r], kind)
               for r in range(min(LEAD_POOL, len(hits)))]
    lead = _lead(per_hit)
    if weak and lead is not None:
        return passages(question, resolved, language, hits, per_hit)
    if lead is None or (kind in ("who", "when", "count") and not satisfies(
            kind, hits[lead.hit_rank].chunk.sentence_texts()[lead.index])):
        # Asked who, when or how many, and no passage names an actor, a date or a number
        # where it matches the question: no sentence can be stated as the answer.
        return passages(question, resolved, language, hits, per_hit)
    last = {lead: _quote_end(hits, lead, per_hit[lead.hit_rank], kind)}
    chosen = [lead]
    if kind != "list":
        chosen += _seconds(hits, per_hit, lead, last[lead], max_sentences)
    citations: list[Citation] = []
    parts: list[str] = []
    for n, cand in enumerate(sorted(chosen, key=lambda c: (c.hit_rank, c.index)), start=1):
        end = last.get(cand, cand.index)
        citations.append(_citation(n, hits[cand.hit_rank], cand.index, end))
        parts.append(f"{_quote(hits[cand.hit_rank], cand.index, end, kind, language)} [{n}]")
    return Answer(question=question, resolved_question=resolved, language=language,
                  text=" ".join(parts), abstained=False, citations=tuple(citations),
                  closest=tuple(hits))


def passages(question: str, resolved: str, language: str, hits: Sequence[Hit],
             per_hit: list[list[Candidate]]) -> Answer:
    """The passages that may answer the question, each by its best sentence and citation,
    under a fixed opening that states none of them as the answer."""
    citations: list[Citation] = []
    parts: list[str] = []
    seen: set[str] = set()  # overlapping chunks share sentences: each is shown once
    for ranked in per_hit[:SHOWN_PASSAGES]:
        best = ranked[0] if ranked else None
        if best is None:
            continue
        hit = hits[best.hit_rank]
        text = _clean(hit.chunk.sentence_texts()[best.index])
        if text in seen:
            continue
        seen.add(text)
        n = len(citations) + 1
        citations.append(_citation(n, hit, best.index, best.index))
        parts.append(f"{_quote(hit, best.index, best.index, 'other', language)} [{n}]")
    return Answer(question=question, resolved_question=resolved, language=language,
                  text=" ".join([PASSAGES[language], *parts]), abstained=False,
                  citations=tuple(citations), closest=tuple(hits), mode="passages")


def refusal(question: str, resolved: str, language: str, hits: Sequence[Hit]) -> Answer:
    """The fixed "the documents do not say" answer, with the closest passages."""
    return Answer(question=question, resolved_question=resolved, language=language,
                  text=REFUSAL[language], abstained=True, closest=tuple(hits), mode="refusal")
