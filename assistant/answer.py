"""Answers from retrieved passages: the sentences that answer, quoted and cited, or a refusal.

Pure functions over hits and per-sentence similarities; the engine supplies both. Nothing is
written here that the documents do not say: the answer is made of quoted sentences, each
followed by the number of its citation, plus fixed sentences for refusals.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .catalog import detect_language
from .lexical import fold
from .types import Answer, Citation, Hit, Turn

# Cue words that settle a question's language when langdetect has too little text to go on.
_SV_CUES = frozenset("""vem vad var vart när hur varför vilken vilket vilka är och för om
    det den de som kan ska finns gäller betalar ansvarar menas också eller med inte""".split())
_EN_CUES = frozenset("""who what where when how why which is are the and for of does do
    can will was were about it they pays decides there also or with not""".split())

REFUSAL = {
    "sv": "Dokumenten svarar inte på den frågan. De närmaste avsnitten visas nedan.",
    "en": "The documents do not answer this question. The closest passages are shown below.",
}

_DATE = re.compile(
    r"\b(1[89]|20)\d\d\b|\b\d{1,2}/\d{1,2}\b|\b(januari|februari|mars|april|maj|juni|juli|"
    r"augusti|september|oktober|november|december|january|february|march|may|june|july|"
    r"august|october)\b", re.IGNORECASE)
_NUMBER = re.compile(
    r"\d|\b(en|ett|två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|hälften|femtedel|"
    r"tredjedel|fjärdedel|one|two|three|four|five|six|seven|eight|nine|ten|half|third|"
    r"quarter|fifth)\b", re.IGNORECASE)
# Words that name who does something, beyond capitalised names.
_ACTOR = re.compile(
    r"\b(kommun\w*|region\w*|länsstyrelse\w*|staten|statens|myndighet\w*|regering\w*|"
    r"municipalit\w*|agency|agencies|board|boards|government|authorit\w*|county|counties|"
    r"association|organisation\w*|organization\w*|ministry)\b", re.IGNORECASE)


def question_language(text: str) -> str:
    """"sv" or "en" for a question: cue words first (reliable for short questions), then
    langdetect; Swedish when neither can tell (the corpus and its users are mostly Swedish)."""
    words = re.findall(r"\w+", text.lower())
    sv = sum(w in _SV_CUES for w in words) + 2 * bool(re.search(r"[åäö]", text.lower()))
    en = sum(w in _EN_CUES for w in words)
    if sv != en and max(sv, en) >= 2:
        return "sv" if sv > en else "en"
    detected = detect_language(text)
    if detected == "en":
        return "en"
    if detected in ("sv", "no", "da"):
        return "sv"
    return "sv" if sv >= en else "en"


def question_kind(text: str) -> str:
    """What a question asks for: "who", "when", "count", "list" or "other"."""
    t = " ".join(re.findall(r"\w+", text.lower()))
    if re.match(r"(who|vem|vilken myndighet|vilka myndigheter|which (authority|organi[sz]ation|"
                r"agency|board|county administrative board|body|municipalit))\b", t):
        return "who"
    if re.match(r"(when|när|what year|vilket år|until when|hur länge|how long)\b", t):
        return "when"
    if re.match(r"(how many|how much|how often|hur många|hur mycket|hur ofta|what share|"
                r"what percentage|vilken andel|hur stor andel)\b", t):
        return "count"
    if re.match(r"(what are the|which are the|vilka|list|name the|what \w+ are)\b", t) or \
            re.search(r"\b(priority areas|sub ?goals|principles|steps)\b", t):
        return "list"
    return "other"


def satisfies(kind: str, sentence: str) -> bool:
    """Does a sentence hold what the question kind asks for (an actor, a date, a number)?"""
    if kind == "who":
        names = [w for w in re.findall(r"\w+", sentence)[1:] if w[:1].isupper()]
        return bool(names) or bool(_ACTOR.search(sentence))
    if kind == "when":
        return bool(_DATE.search(sentence))
    if kind == "count":
        return bool(_NUMBER.search(sentence))
    return True


# --- follow-up questions --------------------------------------------------------------------

_FOLLOW_START = re.compile(
    r"^(och|men|samt|än|and|but|also|what about|how about|and what about|hur är det med|"
    r"vad gäller|vad sägs om|same for|samma för)\b", re.IGNORECASE)
_BACK_REFERENCE = re.compile(
    r"\b(den|det|dem|denna|detta|dessa|där|dit|dess|deras|it|its|they|them|their|that|this|"
    r"those|these|there|he|she|his|her)\b", re.IGNORECASE)
_WHAT_ABOUT = re.compile(
    r"^(?:and |och )?(?:what about|how about|hur är det med|vad gäller|vad sägs om|och|and)\s+"
    r"(?P<rest>.+?)\s*\??$", re.IGNORECASE)


def is_follow_up(question: str) -> bool:
    """Does a question lean on the conversation (opens with "and"/"what about", refers back,
    or has almost no content words of its own)?"""
    content = [w for w in re.findall(r"\w+", question.lower())
               if w not in _SV_CUES and w not in _EN_CUES and len(w) > 2]
    return bool(_FOLLOW_START.match(question.strip()) or _BACK_REFERENCE.search(question)
                or len(content) <= 1)


def _names(text: str) -> list[str]:
    """Capitalised words after the first: place and organisation names in a question."""
    return [w for w in re.findall(r"\w+", text)[1:] if w[:1].isupper()]


def resolve(question: str, history: Sequence[Turn]) -> str:
    """The question made self-contained from the conversation before it.

    "What about Kronoberg?" after "Who decides ... in Blekinge?" becomes the earlier question
    with Kronoberg in Blekinge's place; "and who decides on it?" gets the earlier question's
    words appended, which is what retrieval needs to find the same topic again.
    """
    question = " ".join(question.split())
    if not history or not is_follow_up(question):
        return question
    previous = resolve(history[-1].question, history[:-1])
    about = _WHAT_ABOUT.match(question)
    if about:
        new_names, old_names = _names(" " + about["rest"]), _names(previous)
        if new_names and old_names:
            swapped = previous
            for old in dict.fromkeys(old_names):
                swapped = re.sub(rf"\b{re.escape(old)}\b", " ".join(new_names), swapped, count=1)
                break  # the first name is the one the follow-up replaces
            return swapped
        if not new_names and len(about["rest"].split()) <= 4:
            return f"{previous} {about['rest']}".strip()
    return f"{question} ({previous})"


# --- choosing sentences -----------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A sentence of a retrieved chunk, scored as an answer to the question."""

    hit_rank: int  # 0-based rank of its chunk in the hits
    index: int  # sentence number within the chunk
    similarity: float  # cosine with the question (standardised within its document language)
    score: float


def _clean(text: str) -> str:
    return " ".join(text.split())


def _is_fragment(text: str) -> bool:
    """Headings, list labels and other pieces too short to answer on their own."""
    return len(text.split()) < 4 or text.rstrip().endswith(":")


def score_candidates(hits: Sequence[Hit], similarities: Sequence[np.ndarray], kind: str,
                     top: int = 5) -> list[Candidate]:
    """Score every sentence of the top hits: similarity to the question, standardised among the
    candidates of the same document language (so an English question's Swedish answer can
    compete), plus the chunk's retrieval rank, what the question kind asks for, and a penalty
    for fragments."""
    rows: list[tuple[int, int, float, str, str]] = []
    for rank, (hit, sims) in enumerate(zip(hits[:top], similarities[:top], strict=False)):
        texts = hit.chunk.sentence_texts()
        for i, sim in enumerate(sims):
            rows.append((rank, i, float(sim), hit.info.language, texts[i]))
    by_language: dict[str, list[float]] = {}
    for _, _, sim, language, _ in rows:
        by_language.setdefault(language, []).append(sim)
    stats = {lang: (float(np.mean(v)), float(np.std(v)) or 1.0) for lang, v in by_language.items()}
    candidates = []
    for rank, i, sim, language, text in rows:
        mean, spread = stats[language]
        z = (sim - mean) / spread
        score = z - 0.35 * rank
        if kind == "list" and text.rstrip().endswith(":"):
            score += 0.5
        elif _is_fragment(text):
            score -= 1.5
        if not satisfies(kind, text):
            score -= 1.0
        candidates.append(Candidate(rank, i, z, score))
    return sorted(candidates, key=lambda c: (-c.score, c.hit_rank, c.index))


def _list_items(hit: Hit, index: int, limit: int = 12) -> int:
    """Index of the last short item following sentence `index` (a list's lead-in), or `index`."""
    texts = hit.chunk.sentence_texts()
    last = index
    for j in range(index + 1, min(len(texts), index + 1 + limit)):
        if len(texts[j].split()) > 12:
            break
        last = j
    return last


def _citation(n: int, hit: Hit, first: int, last: int) -> Citation:
    sentences = hit.chunk.sentences
    start, end = sentences[first].start, sentences[last].end
    return Citation(n=n, hit=hit, quote=_clean(hit.chunk.text[start:end]), start=start, end=end,
                    page=sentences[first].page, section=sentences[first].section)


def compose(question: str, resolved: str, language: str, hits: Sequence[Hit],
            similarities: Sequence[np.ndarray], max_sentences: int = 3) -> Answer:
    """An answer quoting the best sentences of the hits, each followed by its citation [n]."""
    kind = question_kind(resolved)
    candidates = score_candidates(hits, similarities, kind)
    if not candidates:
        return refusal(question, resolved, language, hits)
    best = candidates[0]
    chosen = [best]
    if kind != "list":
        # A second (or third) sentence only when it scores nearly as well and is not a fragment.
        for cand in candidates[1:]:
            if len(chosen) >= max_sentences or cand.score < best.score - 0.6:
                break
            text = hits[cand.hit_rank].chunk.sentence_texts()[cand.index]
            if not _is_fragment(text):
                chosen.append(cand)
    citations: list[Citation] = []
    parts: list[str] = []
    numbers: dict[int, int] = {}  # hit rank → citation number, so one chunk keeps one number
    for cand in chosen:
        hit = hits[cand.hit_rank]
        last = _list_items(hit, cand.index) if kind == "list" else cand.index
        n = numbers.setdefault(cand.hit_rank, len(numbers) + 1)
        citation = _citation(n, hit, cand.index, last)
        citations.append(citation)
        texts = [_clean(t) for t in hit.chunk.sentence_texts()[cand.index:last + 1]]
        body = texts[0] if len(texts) == 1 else f"{texts[0]} {'; '.join(texts[1:])}"
        parts.append(f"{body} [{n}]")
    return Answer(question=question, resolved_question=resolved, language=language,
                  text=" ".join(parts), abstained=False, citations=tuple(citations),
                  closest=tuple(hits))


def refusal(question: str, resolved: str, language: str, hits: Sequence[Hit]) -> Answer:
    """The fixed "the documents do not say" answer, with the closest passages."""
    return Answer(question=question, resolved_question=resolved, language=language,
                  text=REFUSAL[language], abstained=True, closest=tuple(hits))


def quote_in_chunk(citation: Citation) -> bool:
    """Does the quote occur in its chunk's text (whitespace-insensitively)?"""
    return fold(citation.quote) in fold(citation.hit.chunk.text)
