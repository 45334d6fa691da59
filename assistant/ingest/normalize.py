"""Pure text clean-up: Unicode, hyphenation, line wrapping, page furniture, OCR debris, headings."""

from __future__ import annotations

import re
import unicodedata
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Paragraph",
    "classify",
    "clean_chars",
    "clean_ocr_line",
    "collapse_whitespace",
    "decode",
    "dehyphenate",
    "drop_repeated_stacks",
    "drop_toc",
    "is_boilerplate",
    "is_debris",
    "is_page_number",
    "is_title_like",
    "is_toc_line",
    "is_word",
    "join_lines",
    "logo_walls",
    "numbered_heading",
    "paragraphs",
    "strip_bullet",
    "strip_running_lines",
    "wrap_width",
]

# --- characters -------------------------------------------------------------------------------

_SPACES = re.compile(r"[\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]")
_INVISIBLE = re.compile(r"[\u00ad\u200b-\u200d\u2060\ufeff]")  # soft hyphen, zero-width marks
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")
_LIGATURES = str.maketrans(
    {"ﬀ": "ff", "ﬁ": "fi", "ﬂ": "fl", "ﬃ": "ffi", "ﬄ": "ffl", "ﬅ": "st", "ﬆ": "st"}
)


def decode(data: bytes) -> tuple[str, bool]:
    """Decode UTF-8 (BOM allowed); on invalid bytes use replacement characters and say so."""
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        return data.decode("utf-8-sig", errors="replace"), True


def clean_chars(text: str) -> str:
    """NFC-normalise and tidy characters: line ends, odd spaces, invisible and control marks."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\f", "\n\n")
    text = text.replace("\u2028", "\n").replace("\u2029", "\n\n")
    text = _SPACES.sub(" ", text)
    text = _INVISIBLE.sub("", text)
    return _CONTROL.sub("", text)


def collapse_whitespace(text: str) -> str:
    """Turn every run of whitespace into one space and trim the ends."""
    return " ".join(text.split())


# --- words ------------------------------------------------------------------------------------

_EDGE_PUNCT = "\"'“”‘’«»()[]{}.,;:!?*…"
_WORD_SHAPE = re.compile(r"^[^\W\d_]+(?:[-'’][^\W\d_]+)*-?$")
_VOWELS = set("aeiouyåäöæøéèêëáàâíìîïóòôõúùûü")
_ONE_LETTER_WORDS = {"a", "i", "å", "ö"}


def _letters(token: str) -> int:
    return sum(ch.isalpha() for ch in token)


def is_word(token: str) -> bool:
    """True if a token looks like a real word (letters, sane case, a vowel), punctuation aside."""
    core = token.strip(_EDGE_PUNCT)
    if len(core) == 1:
        return core.lower() in _ONE_LETTER_WORDS
    if not _WORD_SHAPE.match(core):
        return False
    latin = any(ch.lower() <= "ɏ" for ch in core)  # other scripts (Arabic, Cyrillic) pass
    if latin and not _VOWELS & set(core.lower()):
        return False
    parts = [p for p in re.split(r"[-'’]", core) if p]
    return all(
        p.islower() or p.isupper() or (p[0].isupper() and p[1:].islower()) or p.lower() == p
        for p in parts
    )


# --- hyphenation and wrapping -----------------------------------------------------------------

_HYPHENS = "-‐‑"
_LINE_HYPHEN = re.compile(rf"(\S*?)([^\W_])[{_HYPHENS}][ \t]*\n[ \t]*(\S+)")
# After "hälso-" these words mean the hyphen is a real, suspended one: "hälso- och sjukvård".
_SUSPENDING = {"och", "eller", "samt", "resp", "resp.", "respektive", "till", "and", "or", "to"}


def _hyphen_join(match: re.Match[str]) -> str:
    head, last, nxt = match.group(1), match.group(2), match.group(3)
    word = (head + last).strip(_EDGE_PUNCT)
    if nxt.lower().strip(",") in _SUSPENDING or nxt.rstrip(",").endswith(tuple(_HYPHENS)):
        return f"{head}{last}- {nxt}"
    if last.isdigit() or nxt[0].isdigit() or (len(word) > 1 and word.isupper()):
        return f"{head}{last}-{nxt}"  # "20-64", "LMA-ersättning"
    if nxt[0].isupper():
        return f"{head}{last}-{nxt}"  # "Blekinge-Kronoberg"
    return f"{head}{last}{nxt}"


def dehyphenate(text: str) -> str:
    """Rejoin words split by a hyphen at a line break; keep real and suspended hyphens."""
    return _LINE_HYPHEN.sub(_hyphen_join, text)


def join_lines(lines: Sequence[str]) -> str:
    """Join the lines of one paragraph: rejoin hyphenated words, then collapse whitespace."""
    return collapse_whitespace(dehyphenate("\n".join(line.strip() for line in lines)))


def wrap_width(lines: Sequence[str]) -> int:
    """The width text was wrapped at: the 90th percentile of non-blank line lengths."""
    lengths = sorted(len(line.strip()) for line in lines if line.strip())
    if not lengths:
        return 0
    return lengths[min(len(lengths) - 1, int(len(lengths) * 0.9))]


# --- page furniture ---------------------------------------------------------------------------

_PAGE_NUMBER = re.compile(
    r"^[-–—(\[]?\s*(?:(?:sida|sid\.?|s\.|page|p\.)\s*)?\d{1,4}"
    r"(?:\s*(?:av|of|/)\s*\d{1,4}|\s*\(\d{1,4}\))?\s*[-–—)\]]?$",
    re.IGNORECASE,
)
_TOC_LINE = re.compile(r"^.*?\S\s*(?:\.{3,}|…{2,}|(?:\. ?){4,}|·{3,}|_{4,})\s*\.?\s*\d{1,4}\s*$")
_BOILERPLATE = re.compile(
    r"^(?:skip to (?:main )?content|skip to navigation|skip navigation|jump to (?:main )?content"
    r"|hoppa till (?:huvud)?innehåll(?:et)?|gå (?:direkt )?till (?:huvud)?innehåll(?:et)?"
    r"|till innehållet|back to top|tillbaka till toppen|toggle navigation|mailto:\S+)$",
    re.IGNORECASE,
)


def is_page_number(line: str) -> bool:
    """True for a line that is only a page number: "12", "- 12 -", "Sida 3 av 10", "3 (16)"."""
    return bool(_PAGE_NUMBER.match(line.strip()))


def is_toc_line(line: str) -> bool:
    """True for a table-of-contents line with a dot leader: "Inledning ........ 4"."""
    return bool(_TOC_LINE.match(line.strip()))


def is_boilerplate(line: str) -> bool:
    """True for web navigation remnants such as "Skip to Content"."""
    return bool(_BOILERPLATE.match(line.strip()))


def _furniture_key(line: str) -> str:
    return re.sub(r"\d+", "#", collapse_whitespace(line).lower())


def strip_running_lines(pages: Sequence[str], edge: int = 3) -> list[str]:
    """Remove lines repeated near the top or bottom of most pages (running headers, footers)."""
    zones: list[list[str]] = []
    for page in pages:
        lines = [line for line in page.split("\n") if line.strip()]
        zones.append(lines[:edge] + lines[-edge:])
    counts = Counter(key for zone in zones for key in {_furniture_key(line) for line in zone})
    text_pages = sum(1 for zone in zones if zone)
    needed = max(2, (text_pages + 1) // 2)
    running = {key for key, n in counts.items() if n >= needed}
    if not running:
        return list(pages)
    out = []
    for page in pages:
        lines = page.split("\n")
        nonblank = [i for i, line in enumerate(lines) if line.strip()]
        zone = set(nonblank[:edge] + nonblank[-edge:])
        out.append(
            "\n".join(
                line
                for i, line in enumerate(lines)
                if i not in zone or _furniture_key(line) not in running
            )
        )
    return out


def _stack_key(lines: Sequence[str]) -> str:
    return "".join(ch for ch in " ".join(lines).lower() if ch.isalpha())


def drop_repeated_stacks(lines: Sequence[str], max_words: int = 3) -> list[str]:
    """Drop stacks of short lines (a logo's text) set off by blank lines and seen twice or more."""
    stacks: list[tuple[int, int]] = []
    i = 0
    while i < len(lines):
        if not lines[i].strip():
            i += 1
            continue
        j = i
        while j < len(lines) and lines[j].strip():
            j += 1
        if j - i >= 2 and all(len(line.split()) <= max_words for line in lines[i:j]):
            stacks.append((i, j))
        i = j
    counts = Counter(_stack_key(lines[a:b]) for a, b in stacks)
    drop = {
        k for a, b in stacks if counts[_stack_key(lines[a:b])] >= 2 for k in range(a, b)
    }
    return [line for k, line in enumerate(lines) if k not in drop]


# --- OCR debris -------------------------------------------------------------------------------

_BULLET = re.compile(r"^\s*(?:[•●◦▪▫■□‣⁃∙·*»–—-]|\d{1,2}[.)]|[a-h]\))\s+(?=\S)")
_OCR_BULLET = re.compile(r"^(\s*)[e¢o©]\s+(?=[A-ZÅÄÖ])")  # "•" read as "e", "¢", "o" or "©"
_PIPE_AS_I = re.compile(r"(?:^|(?<=[.!?]\s))\|(?=\s+[^\W\d_])")
_JUNK_CHARS = set("®©¥¢£¤~^\\<>=|¦¬`™#")
_LEGIT_SYMBOLS = {"-", "–", "—", "/", "...", "…", "•", "*", "»"}
_LEGIT_CHARS = set("%§&+€$")
_KEEP_LEADING = {"-", "–", "—", "•", "*", "»", "§", "§§"}


def _is_address(token: str) -> bool:
    return "://" in token or "@" in token or token.startswith("www.")


def _is_junk(token: str) -> bool:
    if _is_address(token):
        return False
    ligatures = sum("\ufb00" <= ch <= "\ufb06" for ch in token)
    if ligatures >= 2 and ligatures > 0.3 * _letters(token):
        return True  # "ﬂ.ﬂﬂﬁlﬁ": OCR reads ligature glyphs into the texture of a picture
    if any(ch in _JUNK_CHARS for ch in token):
        return True
    if any(ch.isalnum() or ch in _LEGIT_CHARS for ch in token):
        return False
    return token not in _LEGIT_SYMBOLS


def _strippable_lead(token: str) -> bool:
    if token in _KEEP_LEADING:
        return False
    core = token.strip(_EDGE_PUNCT)
    if not any(ch.isalnum() for ch in token):
        return True
    return _letters(core) == 1 and len(core) == 1 and core.lower() not in _ONE_LETTER_WORDS


def _caps_run(tokens: Sequence[str]) -> int:
    """How many leading all-capital tokens are figure text glued before lowercase prose."""
    n = 0
    while n < len(tokens) and is_word(tokens[n]) and tokens[n].strip(_EDGE_PUNCT).isupper():
        n += 1
    if n == 0 or n >= len(tokens) or len(tokens) - n < 3:
        return 0
    letters = sum(_letters(t) for t in tokens[:n])
    following = tokens[n].strip(_EDGE_PUNCT)
    if not is_word(following):
        return 0
    hyphenated = n == 1 and bool(re.fullmatch(r"[^\W\d_]{2,}-[^\W\d_]{2,}", tokens[0]))
    if following[:1].islower() and ((n >= 2 and letters >= 5) or letters >= 8 or hyphenated):
        return n  # "FOR ALLA vuxnas möjligheter"; one acronym ("UNHCR and") stays
    if n == 1 and letters >= 8 and len(tokens) >= 6:
        return n  # "GODHALSAOCH En stor del av ..."
    return 0


def clean_ocr_line(line: str) -> str:
    """Repair one OCR'd line: "|" read for "I", "e" for a bullet, junk tokens from figures."""
    indent = line[: len(line) - len(line.lstrip())]
    body = line.strip()
    if not body:
        return ""
    candidates = len(_PIPE_AS_I.findall(body))
    if candidates and candidates == body.count("|"):
        body = _PIPE_AS_I.sub("I", body)
    body = _OCR_BULLET.sub(r"\1• ", body)
    raw = body.split()
    if len(raw) > 1 and raw[0].isdigit() and _is_junk(raw[1]):
        raw = raw[1:]  # a number printed on an icon, read together with the icon's debris
    tokens = [t for t in raw if not _is_junk(t)]
    while tokens and _strippable_lead(tokens[0]):
        tokens.pop(0)
    tokens = tokens[_caps_run(tokens) :]
    return (indent + " ".join(tokens).translate(_LIGATURES)) if tokens else ""


def is_debris(line: str) -> bool:
    """True for a line of logo or figure debris: no real word, or mostly symbols."""
    tokens = line.split()
    if not tokens:
        return False
    word_letters = sum(
        len(t) if _is_address(t) else _letters(t)
        for t in tokens
        if _is_address(t) or (_letters(t) >= 2 and is_word(t))
    )
    if word_letters == 0:
        return True
    digits = sum(ch.isdigit() for ch in line)
    nonspace = sum(not ch.isspace() for ch in line)
    return (word_letters + digits) / nonspace < 0.5


# --- paragraphs -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Paragraph:
    """A run of source lines joined into one paragraph, and how it was set off from others."""

    text: str
    lines: int = 1  # how many source lines were joined
    alone: bool = True  # set off by blank lines (or an unmistakable break) on both sides


_TERMINAL = tuple(".!?:")
_UNWRAPPED = 160  # wider than any page column: each line is a paragraph of its own
_NUMBERED = re.compile(r"^(\d{1,2}(?:\.\d{1,2}){0,3})(\.?)\s+(\S.*)$")


def _first_word(line: str) -> str:
    parts = line.split()
    return parts[0] if parts else ""


def _breaks_before(prev: str, line: str, width: int) -> bool:
    """True where a wrapped text starts a new paragraph on `line` although no blank line came."""
    prev_s, line_s = prev.strip(), line.strip()
    if _BULLET.match(line_s):
        return True
    if prev_s.endswith(_TERMINAL) and (line[:1].isspace() or _NUMBERED.match(line_s)):
        return True  # an indented first line, or a numbered heading after a finished sentence
    if re.search(rf"[^\W\d_][{_HYPHENS}]$", prev_s):
        return False
    fits = len(prev_s) + 1 + len(_first_word(line_s)) <= 0.9 * width
    starts = line_s[:1]
    return fits and (prev_s.endswith(_TERMINAL) or starts.isupper() or starts.isdigit())


def _continues(prev: Paragraph, nxt: Paragraph) -> bool:
    """True where a blank line (from a figure beside the text) cut a sentence in two."""
    first = nxt.text[:1]
    long_enough = prev.lines >= 2 or len(prev.text.split()) >= 8
    return (
        long_enough
        and first.isalpha()
        and first.islower()
        and not prev.text.endswith((".", "!", "?", ":", ";"))
        and not _BULLET.match(nxt.text)
    )


def paragraphs(text: str, width: int | None = None) -> list[Paragraph]:
    """Split text into paragraphs: blank lines always break, wrapped lines are joined."""
    lines = text.split("\n")
    width = wrap_width(lines) if width is None else width
    wrapped = 0 < width <= _UNWRAPPED
    groups: list[list[str]] = []
    for line in lines:
        if line.strip():
            if groups and groups[-1]:
                groups[-1].append(line)
            else:
                groups.append([line])
        elif groups and groups[-1]:
            groups.append([])
    out: list[Paragraph] = []
    for group in (g for g in groups if g):
        # a narrower column (text beside a figure) wraps earlier than the page's usual width
        local = max(len(line.strip()) for line in group)
        if len(group) < 3 or local < 0.6 * width or local > width:
            local = width
        segments: list[list[str]] = [[group[0]]]
        for prev, line in zip(group, group[1:], strict=False):
            if not wrapped or _breaks_before(prev, line, local):
                segments.append([line])
            else:
                segments[-1].append(line)
        # in wrapped text a clear break counts as a blank line; in unwrapped text it does not
        alone = wrapped or len(segments) == 1
        out.extend(Paragraph(join_lines(seg), len(seg), alone) for seg in segments)
    if not wrapped:
        return [p for p in out if p.text]
    merged: list[Paragraph] = []
    for para in out:
        if merged and _continues(merged[-1], para):
            prev = merged.pop()
            para = Paragraph(f"{prev.text} {para.text}", prev.lines + para.lines, prev.alone)
        merged.append(para)
    return [p for p in merged if p.text]


# --- headings, items, tables of contents ------------------------------------------------------


def strip_bullet(text: str) -> str | None:
    """The text of a list item without its bullet or number, or None if it is no list item."""
    match = _BULLET.match(text)
    if not match:
        return None
    rest = text[match.end() :]
    return re.sub(r"^[»•–-]\s+", "", rest)


# A line ending in one of these is a wrapped sentence, not a title.
_CONNECTORS = {
    "och", "att", "av", "for", "för", "fér", "i", "med", "som", "till", "pa", "på", "om", "en",
    "ett", "de", "den", "det", "samt", "eller", "men", "fran", "från", "har", "ar", "är",
    "and", "the", "of", "to", "in", "a", "an", "with", "or", "on", "by", "that",
}  # fmt: skip


def _wordish(token: str) -> bool:
    core = token.strip(_EDGE_PUNCT)
    return is_word(token) or (core[:1].isalpha() and _letters(core) >= 0.7 * len(core))


def is_title_like(line: str, max_words: int = 8) -> bool:
    """True for a short heading-shaped line: capital first, few words, no final period."""
    text = line.strip()
    words = text.split()
    if not words or len(words) > max_words or is_page_number(text) or is_toc_line(text):
        return False
    first = text[0]
    if not (first.isalpha() and first.isupper()) or text.endswith((".", ",", ";", ":")):
        return False
    letters = [ch for ch in text if ch.isalpha()]
    if len(letters) >= 2 and all(ch.isupper() for ch in letters):
        return False  # all-capital lines in these texts are logo and figure text
    if text.count(",") > 1 or _BULLET.match(text) or words[-1].lower() in _CONNECTORS:
        return False
    return sum(_wordish(w) for w in words) >= max(1, (len(words) + 1) // 2)


def numbered_heading(line: str) -> tuple[tuple[int, ...], bool] | None:
    """Numbers of a chapter line ("9 Ansvarsfördelning", "2.3 Mål") and whether they end in "."."""
    match = _NUMBERED.match(line.strip())
    if not match:
        return None
    numbers = tuple(int(n) for n in match.group(1).split("."))
    title = match.group(3)
    if not (title[:1].isalpha() and title[:1].isupper()) or len(title.split()) > 10:
        return None
    if title.endswith((".", ",", ";", ":")) or title.count(",") > 1:
        return None
    if sum(is_word(w) for w in title.split()) < (len(title.split()) + 1) // 2:
        return None
    return numbers, bool(match.group(2))


def drop_toc(paras: Sequence[Paragraph]) -> list[bool]:
    """Which paragraphs to keep: dot-leader lines and runs of bare chapter titles are dropped."""
    keep = [not is_toc_line(p.text) for p in paras]
    i = 0
    while i < len(paras):
        j = i
        tops: set[int] = set()
        while j < len(paras) and paras[j].lines == 1:
            numbered = numbered_heading(paras[j].text)
            if numbered is None:
                break
            tops.add(numbered[0][0])
            j += 1
        if j - i >= 3 and len(tops) >= 2:
            for k in range(i, j):
                keep[k] = False
        i = max(j, i + 1)
    return keep


def logo_walls(texts: Sequence[str], run: int = 5, max_words: int = 4) -> list[bool]:
    """Which texts to keep: runs of many very short non-sentences (a wall of logos) are dropped."""
    # "Diarienummer: 1539-2023-1" is a colophon's fact, not a logo
    short = [
        len(t.split()) <= max_words and not t.endswith(_TERMINAL) and ": " not in t
        for t in texts
    ]
    keep = [True] * len(texts)
    i = 0
    while i < len(texts):
        j = i
        while j < len(texts) and short[j]:
            j += 1
        if j - i >= run:
            keep[i:j] = [False] * (j - i)
        i = max(j, i + 1)
    return keep


def _is_body(para: Paragraph) -> bool:
    return len(para.text.split()) >= 8 or para.text.endswith((".", "!", "?"))


def _short_item(para: Paragraph) -> bool:
    words = len(para.text.split())
    enumerated = bool(re.match(r"^\d{1,2}[.)]\s", para.text))
    return para.lines == 1 and (
        (words <= 12 and not para.text.endswith(".")) or (enumerated and words <= 40)
    )


def classify(paras: Sequence[Paragraph]) -> list[tuple[str, int, str]]:
    """Kind ("heading", "item", "paragraph"), heading level (0 otherwise) and text of each."""
    n = len(paras)
    items = [False] * n
    for i, para in enumerate(paras):
        if para.text.endswith(":"):
            j = i + 1
            while j < n and _short_item(paras[j]) and not paras[j].text.endswith(":"):
                j += 1
            if j - i - 1 >= 2:
                for k in range(i + 1, j):
                    items[k] = True
    out: list[tuple[str, int, str]] = [("paragraph", 0, p.text) for p in paras]
    last_top, depth = 0, 0
    for i, para in enumerate(paras):
        text = para.text
        bullet = strip_bullet(text)
        numbered = numbered_heading(text) if para.lines == 1 and para.alone else None
        if numbered and not items[i]:
            numbers, _dot = numbered
            top = numbers[0]
            # chapters count upwards; a "chapter" out of step is a footnote or a list
            step = 30 if last_top == 0 else 3
            if (len(numbers) == 1 and last_top < top <= last_top + step) or (
                len(numbers) > 1 and top in (last_top, last_top + 1)
            ):
                last_top, depth = top, len(numbers)
                out[i] = ("heading", depth, text)
                continue
        if bullet is not None and not (numbered and not items[i]):
            out[i] = ("item", 0, bullet)
        elif items[i]:
            out[i] = ("item", 0, text)
    # unnumbered headings: decided back to front, since a heading may introduce another heading
    levels = [0] * n
    depth = 0
    depths = []
    for kind, level, _ in out:
        if kind == "heading":
            depth = level
        depths.append(depth)
    for i in range(n - 1, -1, -1):
        para = paras[i]
        if out[i][0] != "paragraph" or para.lines != 1:
            continue
        title = re.sub(r"^\d{1,2}\.\s+", "", para.text)
        nxt = paras[i + 1] if i + 1 < n else None
        introduces = nxt is not None and (
            _is_body(nxt) or out[i + 1][0] in ("heading", "item") or levels[i + 1] > 0
        )
        first = i == 0 and is_title_like(title, max_words=20)
        if para.alone and ((is_title_like(title) and introduces) or first):
            levels[i] = depths[i] + 1
    return [
        ("heading", levels[i], text) if levels[i] else (kind, level, text)
        for i, (kind, level, text) in enumerate(out)
    ]
