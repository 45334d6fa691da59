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

from assistant.lang.detect import detect_language
from assistant.lang.terms import expansions, gloss_text
from assistant.types import Answer, Citation, Hit, Turn

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
# "one" counts except in "one another" and "one of" (no count is given there).
_NUMBER = re.compile(
    r"\d|\b(två|tre|fyra|fem|sex|sju|åtta|nio|tio|elva|tolv|hälften|femtedel|"
    r"tredjedel|fjärdedel|one(?! another| of)|two|three|four|five|six|seven|eight|nine|ten|"
    r"half|third|quarter|fifth)\b", re.IGNORECASE)
ACTOR_KINDS = frozenset({"authority", "body", "unit", "role"})  # term kinds that name actors
# Words that name who does something, beyond capitalised names and actor terms.
_ACTOR = re.compile(
    r"\b(kommun\w*|region\w*|länsstyrelse\w*|staten|statens|myndighet\w*|regering\w*|"
    r"municipalit\w*|agency|agencies|board|boards|government|authorit\w*|county|counties|"
    r"association|organisation\w*|organization\w*|ministry)\b", re.IGNORECASE)


def question_language(text: str) -> str:
    """"sv" or "en" for a question: cue words first (reliable for short questions), then
    langdetect; Swedish when neither can tell (the corpus and its users are mostly Swedish)."""
    words = re.findall(r"\w+", text.lower())
    # å/ä/ö in ordinary words point to Swedish; in names ("What is Växjömentor?") they do not.
    common = " ".join(w for w in re.findall(r"\w+", text) if not w[:1].isupper())
    sv = sum(w in _SV_CUES for w in words) + 2 * bool(re.search(r"[åäö]", common))
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
        return bool(names) or bool(_ACTOR.search(sentence)) or any(
            e.term.kind in ACTOR_KINDS for e in expansions(sentence))
    if kind == "when":
        return bool(_DATE.search(sentence))
    if kind == "count":
        return bool(_NUMBER.search(sentence))
    return True


# --- follow-up questions --------------------------------------------------------------------

_FOLLOW_START = re.compile(
    r"^(och|men|samt|än|and|but|also|what about|how about|and what about|hur är det med|"
    r"vad gäller|vad sägs om|same for|samma för)\b", re.IGNORECASE)
# Pronouns that point back at an earlier turn. "det", "den" and "this" also serve as dummy
# subjects and articles ("finns det", "den regionala strategin"), so they count only at the end.
_BACK_REFERENCE = re.compile(r"\b(it|its|they|them|their|those|dess|deras)\b", re.IGNORECASE)
_BACK_REFERENCE_END = re.compile(
    r"\b(den|det|dem|denna|detta|dessa|this|that|these)"
    r"(\s+(till|om|med|för|på|av|i|ut|från|över|for|about|of|on|in))?\W*$", re.IGNORECASE)
_WHAT_ABOUT = re.compile(
    r"^(?:and |och |men |but )?(?:what about|how about|hur är det med|vad gäller|vad sägs om|"
    r"och|and|men|but)\s+(?P<rest>.+?)\s*\??$", re.IGNORECASE)
_QUESTION_WORD = re.compile(
    r"\b(who|what|where|when|how|why|which|vem|vad|var|vart|när|hur|varför|vilken|vilket|"
    r"vilka)\b", re.IGNORECASE)


def is_follow_up(question: str) -> bool:
    """Does a question lean on the conversation (opens with "and"/"what about", refers back
    with a pronoun, or has no content words of its own)?"""
    content = [w for w in re.findall(r"\w+", question.lower())
               if w not in _SV_CUES and w not in _EN_CUES and len(w) > 2]
    if _BACK_REFERENCE.search(question) or _BACK_REFERENCE_END.search(question) or not content:
        return True
    about = _WHAT_ABOUT.match(question.strip())
    if about and not _QUESTION_WORD.search(about["rest"]):
        return True  # "what about Kronoberg?", "och Kronoberg?"
    # "och vad är Växjömentor?" opens like a follow-up but names its own subject.
    return bool(_FOLLOW_START.match(question.strip())) and not _names(question)


def _names(text: str, skip_first: bool = True) -> list[str]:
    """Capitalised words (after the first, which any sentence capitalises): place and
    organisation names in a question."""
    words = re.findall(r"\w+", text)
    return [w for w in words[1 if skip_first else 0:] if w[:1].isupper()]


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
    if about and not _QUESTION_WORD.search(about["rest"]):
        new_names, old_names = _names(about["rest"], skip_first=False), _names(previous)
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
    score: float


def _clean(text: str) -> str:
    return " ".join(text.split())


def is_heading(hit: Hit, index: int) -> bool:
    """Is sentence `index` of a hit's chunk one of its section headings?"""
    text = _clean(hit.chunk.sentence_texts()[index])
    sections = (*hit.chunk.section, *hit.chunk.sentences[index].section)
    return any(text == _clean(heading) for heading in sections)


def is_fragment(text: str) -> bool:
    """List labels, captions and other pieces too short to answer on their own."""
    text = text.strip()
    return len(text.split()) < 4 or text.endswith(":") or (
        len(text.split()) < 9 and not text.endswith((".", "!", "?", ")")))


# Weights of the sentence score, measured on the dev questions with bench/ask.py.
SUPPORT_WEIGHT = 0.1  # share of the question's concepts in the sentence (0..1)
LEAD_RANK_PENALTY = 0.02  # a lower-ranked passage leads only if its sentence is this much better
LEAD_POOL = 3  # passages whose sentences may lead the answer
ADJACENT_MARGIN = 0.1  # the sentence after the lead joins its quote when it scores this close


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
            score -= 0.2
        elif kind == "list" and texts[i].rstrip().endswith(":"):
            score += 0.02
        elif is_fragment(texts[i]):
            score -= 0.1
        if not satisfies(kind, texts[i]):
            score -= 0.05
        candidates.append(Candidate(rank, i, score))
    return sorted(candidates, key=lambda c: (-c.score, c.index))


def _list_items(hit: Hit, index: int, limit: int = 12) -> int:
    """Index of the last short item following sentence `index` (a list's lead-in), or `index`."""
    texts = hit.chunk.sentence_texts()
    last = index
    for j in range(index + 1, min(len(texts), index + 1 + limit)):
        words = len(texts[j].split())
        if words > 20 or (words > 8 and texts[j].rstrip().endswith(".")):
            break  # a sentence of running text: the list has ended
        last = j
    return last


def _citation(n: int, hit: Hit, first: int, last: int) -> Citation:
    sentences = hit.chunk.sentences
    start, end = sentences[first].start, sentences[last].end
    return Citation(n=n, hit=hit, quote=_clean(hit.chunk.text[start:end]), start=start, end=end,
                    page=sentences[first].page, section=sentences[first].section)


def compose(question: str, resolved: str, language: str, hits: Sequence[Hit],
            similarities: Sequence[np.ndarray], support: Sequence[np.ndarray],
            max_sentences: int = 2) -> Answer:
    """An answer quoting the top passage's best sentences, each followed by its citation [n].

    The top passage leads (retrieval has already weighed dense, sentence and lexical evidence);
    a second sentence is added when it scores nearly as well, from the same passage or the next
    one in the same language. A list question gets the items that follow its lead-in. A who,
    when or how-many question whose best sentence names no actor, date or number is refused.
    """
    kind = question_kind(resolved)
    if not hits:
        return refusal(question, resolved, language, hits)
    per_hit = [sentence_candidates(hits[r], r, similarities[r], support[r], kind)
               for r in range(min(LEAD_POOL, len(hits)))]
    lead = max((c[0] for c in per_hit if c),
               key=lambda c: (c.score - LEAD_RANK_PENALTY * c.hit_rank, -c.hit_rank),
               default=None)
    if lead is None:
        return refusal(question, resolved, language, hits)
    lead_hit = hits[lead.hit_rank]
    if kind in ("who", "when", "count") and not satisfies(
            kind, lead_hit.chunk.sentence_texts()[lead.index]):
        # Asked who, when or how many, and no passage names an actor, a date or a number
        # where it matches the question: the documents do not say.
        return refusal(question, resolved, language, hits)
    ranked = per_hit[lead.hit_rank]
    chosen = [lead]
    last = {lead: _list_items(lead_hit, lead.index) if kind == "list" else lead.index}
    if kind != "list":
        # The sentence right after the lead often completes it ("Projektet genomförs av …"
        # after the sentence that names the project): quoted with it when it scores close.
        follow = next((c for c in ranked if c.index == lead.index + 1), None)
        texts = lead_hit.chunk.sentence_texts()
        if follow is not None and follow.score >= lead.score - ADJACENT_MARGIN and not (
                is_heading(lead_hit, follow.index) or is_fragment(texts[follow.index])):
            last[lead] = follow.index
        pool = [c for c in ranked[1:] if not lead.index <= c.index <= last[lead]]
        nxt = lead.hit_rank + 1
        if nxt < len(per_hit) and hits[nxt].info.language == lead_hit.info.language:
            pool += per_hit[nxt]
        seen = {_clean(t) for t in texts[lead.index:last[lead] + 1]}
        for cand in sorted(pool, key=lambda c: (-c.score, c.hit_rank, c.index)):
            if len(chosen) >= max_sentences or cand.score < chosen[0].score - 0.015:
                break
            text = _clean(hits[cand.hit_rank].chunk.sentence_texts()[cand.index])
            if text not in seen and not is_fragment(text):
                seen.add(text)
                chosen.append(cand)
    citations: list[Citation] = []
    parts: list[str] = []
    for n, cand in enumerate(sorted(chosen, key=lambda c: (c.hit_rank, c.index)), start=1):
        hit = hits[cand.hit_rank]
        end = last.get(cand, cand.index)
        citations.append(_citation(n, hit, cand.index, end))
        quoted = [_clean(t) for t in hit.chunk.sentence_texts()[cand.index:end + 1]]
        body = (f"{quoted[0]} {'; '.join(quoted[1:])}" if kind == "list" and len(quoted) > 1
                else " ".join(quoted))
        if language == "en" and hit.info.language == "sv":
            body = gloss_text(body, "en")  # "Försäkringskassan (Swedish Social Insurance Agency)"
        parts.append(f"{body} [{n}]")
    return Answer(question=question, resolved_question=resolved, language=language,
                  text=" ".join(parts), abstained=False, citations=tuple(citations),
                  closest=tuple(hits))


def refusal(question: str, resolved: str, language: str, hits: Sequence[Hit]) -> Answer:
    """The fixed "the documents do not say" answer, with the closest passages."""
    return Answer(question=question, resolved_question=resolved, language=language,
                  text=REFUSAL[language], abstained=True, closest=tuple(hits))
