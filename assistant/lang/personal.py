"""Swedish personal identity numbers: find them, check them, mask them (text, documents, logs)."""

from __future__ import annotations

import calendar
import logging
import re
from dataclasses import replace

from assistant.types import Document

__all__ = [
    "COORDINATION_MASK", "PERSONAL_MASK", "PersonalNumberFilter", "find_numbers",
    "is_valid", "luhn_ok", "mask_document", "mask_text",
]

PERSONAL_MASK = "[personnummer]"
COORDINATION_MASK = "[samordningsnummer]"  # day of birth + 60, for people not (yet) registered

# [CC]YYMMDD, an optional separator ("-", "+" for people over 100, dash look-alikes from PDF
# text, or one space), then a three-digit birth number and a check digit; no digit either side.
_CANDIDATE = re.compile(r"(?<!\d)((?:18|19|20)?\d{6})([-+\u2010\u2011\u2013\u2212 ]?)(\d{4})(?!\d)")


def luhn_ok(digits: str) -> bool:
    """True if the digits pass the Luhn check (weights 2, 1, 2, … from the left, ten digits)."""
    total = 0
    for i, ch in enumerate(digits):
        value = int(ch) * (2 if i % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return total % 10 == 0


def _kind(date: str, rest: str) -> str | None:
    """'personnummer', 'samordningsnummer' or None for a [CC]YYMMDD and the last four digits."""
    century, yymmdd = (date[:2], date[2:]) if len(date) == 8 else (None, date)
    year = int(yymmdd[:2]) + (int(century) * 100 if century else 2000)
    month, day = int(yymmdd[2:4]), int(yymmdd[4:6])
    kind = "personnummer"
    if day > 60:
        day -= 60
        kind = "samordningsnummer"
    if not 1 <= month <= 12 or not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    return kind if luhn_ok(yymmdd + rest) else None


def is_valid(number: str) -> bool:
    """True if `number` is exactly one valid personnummer or samordningsnummer."""
    match = _CANDIDATE.fullmatch(number.strip())
    return bool(match) and _kind(match.group(1), match.group(3)) is not None


def find_numbers(text: str) -> list[tuple[int, int, str]]:
    """(start, end, kind) of every valid personnummer or samordningsnummer in the text."""
    found = []
    for match in _CANDIDATE.finditer(text):
        kind = _kind(match.group(1), match.group(3))
        if kind is not None:
            found.append((match.start(), match.end(), kind))
    return found


def mask_text(text: str) -> str:
    """The text with each valid number replaced by a placeholder; look-alikes are left alone."""
    if not any(ch.isdigit() for ch in text):
        return text
    out, last = [], 0
    for start, end, kind in find_numbers(text):
        out += [text[last:start], PERSONAL_MASK if kind == "personnummer" else COORDINATION_MASK]
        last = end
    return "".join(out) + text[last:] if out else text


def mask_document(document: Document) -> Document:
    """The document with personal numbers masked in its title and every block and heading."""
    blocks = tuple(replace(b, text=mask_text(b.text), section=tuple(map(mask_text, b.section)))
                   for b in document.blocks)
    title = mask_text(document.title) if document.title else document.title
    original = mask_text(document.original_text) if document.original_text else None
    problems = tuple(map(mask_text, document.problems))  # parser messages may quote the file
    return replace(document, blocks=blocks, title=title, original_text=original,
                   problems=problems)


class PersonalNumberFilter(logging.Filter):
    """A handler filter that masks personal numbers in a record's message and traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Mask the record in place; never drops it."""
        if isinstance(record.msg, str):
            record.msg = mask_text(record.msg)
        if isinstance(record.args, tuple):
            # masked one by one, so formatters that read the arguments (uvicorn's) keep working
            record.args = tuple(mask_text(a) if isinstance(a, str) else a for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: mask_text(v) if isinstance(v, str) else v
                           for k, v in record.args.items()}
        try:
            message = record.getMessage()
        except (TypeError, ValueError):
            message = str(record.msg)
        if mask_text(message) != message:  # a number in a non-string argument or object
            record.msg, record.args = mask_text(message), ()
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info)
        return True
