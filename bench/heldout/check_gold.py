#!/usr/bin/env python3
"""Check the held-out question set (bench/heldout/questions.jsonl).

For every answerable question, each gold `text` must occur in its corpus file after
folding both (NFKD, combining marks dropped, lower-cased, whitespace collapsed) and be
3-10 words long. Also checks the fields, the kinds, the xling flags (question language vs
document language) and, when the development set is present, that no id, question or
gold text repeats one of the development set's.

Usage: python3 bench/heldout/check_gold.py   (exit status 0 when everything passes)
"""
import json
import re
import sys
import unicodedata
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
CORPUS = ROOT / "corpus"
QUESTIONS = HERE / "questions.jsonl"
DEV = Path("/work/shared/eval/questions.jsonl")

FIELDS = ["id", "question", "lang", "kind", "xling", "gold"]
# Language of the passages in each corpus file.
DOC_LANG = {
    "blekinge-integrationsstrategi-2023-2026.txt": "sv",
    "kronoberg-sok-rapport-2019-2024.md": "sv",
    "lansstyrelserna-integration-2021.txt": "sv",
    "oecd-smaland-blekinge-migrant-integration.txt": "en",
    "finland-integration-decision-makers.txt": "en",
}


def fold(s: str) -> str:
    s = unicodedata.normalize("NFKD", s)
    s = "".join(c for c in s if not unicodedata.combining(c))
    return re.sub(r"\s+", " ", s.lower()).strip()


def load(path: Path):
    with path.open(encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main() -> int:
    errors = []
    texts = {doc: fold((CORPUS / doc).read_text(encoding="utf-8")) for doc in DOC_LANG}
    qs = load(QUESTIONS)

    ids = Counter(q.get("id") for q in qs)
    errors += [f"duplicate id {i}" for i, n in ids.items() if n > 1]

    for q in qs:
        qid = q.get("id")
        if list(q.keys()) != FIELDS:
            errors.append(f"{qid}: fields {list(q.keys())} != {FIELDS}")
            continue
        if q["lang"] not in ("sv", "en"):
            errors.append(f"{qid}: lang {q['lang']!r}")
        if q["kind"] == "unanswerable":
            if q["gold"] or q["xling"]:
                errors.append(f"{qid}: unanswerable needs gold [] and xling false")
            continue
        if q["kind"] != "answerable" or not q["gold"]:
            errors.append(f"{qid}: answerable needs a gold list")
            continue
        for g in q["gold"]:
            doc, text = g.get("doc"), g.get("text", "")
            if doc not in texts:
                errors.append(f"{qid}: unknown doc {doc!r}")
                continue
            n = len(text.split())
            if not 3 <= n <= 10:
                errors.append(f"{qid}: gold has {n} words: {text!r}")
            if fold(text) not in texts[doc]:
                errors.append(f"{qid}: gold not found in {doc}: {text!r}")
            if q["xling"] != (q["lang"] != DOC_LANG[doc]):
                errors.append(f"{qid}: xling {q['xling']} but question {q['lang']}, "
                              f"doc {DOC_LANG[doc]}")

    if DEV.exists():
        dev = load(DEV)
        dev_ids = {d["id"] for d in dev}
        dev_qs = {fold(d["question"]) for d in dev}
        dev_gold = [fold(g["text"]) for d in dev for g in d["gold"]]
        for q in qs:
            if q["id"] in dev_ids:
                errors.append(f"{q['id']}: id also in the dev set")
            if fold(q["question"]) in dev_qs:
                errors.append(f"{q['id']}: question also in the dev set")
            for g in q["gold"]:
                t = fold(g["text"])
                for d in dev_gold:
                    if t in d or d in t:
                        errors.append(f"{q['id']}: gold overlaps dev gold {d!r}")

    ans = [q for q in qs if q.get("kind") == "answerable"]
    print(f"{len(qs)} questions: {len(ans)} answerable, {len(qs) - len(ans)} unanswerable")
    print("lang:", dict(Counter(q.get("lang") for q in qs)))
    print("xling:", sum(bool(q.get("xling")) for q in qs))
    print("docs:", dict(Counter(q["gold"][0]["doc"] for q in ans if q.get("gold"))))
    for e in errors:
        print("FAIL", e)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
