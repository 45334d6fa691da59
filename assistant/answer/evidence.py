"""Does the corpus support an answer? Evidence from the retrieval legs, and the decision.

The decision does not rest on one similarity threshold (e5 cosines sit between 0.7 and 0.9
for everything, related or not). A small logistic model weighs whether the question's rare words
exist in the corpus at all, whether the best passages contain them, how close the best sentence
is, whether the legs agree and whether the top sentence holds what the question asks for. It is
fitted by bench/fit.py on the development sets, with leave-document-out negatives, and stored
as data (assistant/data/refusal_model.json); see `mode`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import numpy as np

from assistant.answer.question import satisfies
from assistant.lang.fold import fold
from assistant.retrieval.concepts import Concept, concept_coverage, document_context
from assistant.retrieval.fusion import FusionParams
from assistant.types import Hit


@dataclass(frozen=True)
class Evidence:
    """What retrieval found for a question, as numbers the refusal rule can weigh."""

    best_sentence: float  # highest cosine of the question with a sentence of the top hits
    coverage: float  # best rarity-weighted share of the question's concepts in a top passage
    unknown: float  # weighted share of the question's concepts found nowhere in the corpus
    same_language: bool  # the top passage is in the question's language
    agreement: float = 0.0  # share of the three legs that rank the top passage in their top 3
    satisfied: bool = True  # the top passage's best sentence holds what the question asks for


def specificity(word: str) -> float:
    """1 for a rare word, less for an everyday one ("pays", "menas"): a missing everyday word
    says little about whether the corpus covers the question's topic."""
    from wordfreq import zipf_frequency

    zipf = max(zipf_frequency(word, "en"), zipf_frequency(word, "sv"))
    return min(1.0, max(0.1, (5.5 - zipf) / 2.5))


def gather_evidence(concepts: list[Concept], language: str, hits: Sequence[Hit],
                    similarities: Sequence[np.ndarray], params: FusionParams,
                    top: int = 3, kind: str = "other") -> Evidence:
    """Evidence for a question (its concepts, language and kind) from its hits and their
    per-sentence similarities."""
    coverage = 0.0
    for hit in hits[:top]:
        text = fold(" ".join((*hit.chunk.section, hit.chunk.text)))
        coverage = max(coverage, concept_coverage(
            concepts, f"{document_context(hit.info)} {text}", params.prefix_min))
    weights = [c.weight * (1.0 if c.present else specificity(" ".join(c.forms[0])))
               for c in concepts]
    unknown = sum(w for w, c in zip(weights, concepts, strict=True) if not c.present)
    sims = [float(s.max()) for s in similarities[:top] if len(s)]
    satisfied = True
    texts = hits[0].chunk.sentence_texts() if hits else []
    if texts and len(similarities[0]):
        best = int(np.argmax(similarities[0][:len(texts)]))
        satisfied = satisfies(kind, texts[best])
    return Evidence(
        best_sentence=max(sims, default=0.0),
        coverage=coverage,
        unknown=unknown / (sum(weights) or 1.0),
        same_language=bool(hits) and hits[0].info.language == language,
        agreement=sum(1 for r in hits[0].ranks.values() if r <= top) / 3 if hits else 0.0,
        satisfied=satisfied,
    )


# The refusal model: logistic regression over the evidence, fitted by bench/fit.py (its
# training data, folds and figures are in bench/RESULTS.md); weights are data.
FEATURES = ("best_sentence", "coverage", "unknown", "same_language", "unknown_same_language",
            "agreement", "satisfied")
# Features whose scale belongs to the embedding model the refusal model was fitted with.
MODEL_SCALED = ("best_sentence",)
MODEL = Path(__file__).resolve().parent.parent / "data" / "refusal_model.json"


def features(evidence: Evidence) -> list[float]:
    """The model's inputs, in FEATURES order."""
    same = float(evidence.same_language)
    return [evidence.best_sentence, evidence.coverage, evidence.unknown, same,
            evidence.unknown * same, evidence.agreement, float(evidence.satisfied)]


@dataclass(frozen=True)
class RefusalModel:
    """Standardised logistic regression: P(the corpus answers the question | evidence), and
    the two cut-offs of the answer's mode."""

    mean: tuple[float, ...]
    scale: tuple[float, ...]
    weights: tuple[float, ...]
    bias: float
    refuse_below: float  # P below this: refuse
    passages_below: float  # P below this (and not refused): show passages, state no answer
    # the refusal cut per question language, where fitted (the cut is a low quantile of the
    # answerable questions' P, which sits lower for questions across languages)
    refuse_by_language: tuple[tuple[str, float], ...] = ()
    embedding_model: str = ""  # the model whose cosines it was fitted on ("": not recorded)

    def for_embedder(self, name: str) -> RefusalModel:
        """This model as it applies to vectors of embedding model `name`.

        Cosines of another model sit on another scale (a fake hashing embedder's are near 0),
        so for any model but the one it was fitted on, the cosine features are held at their
        training mean: the decision then rests on the corpus-side evidence (coverage, unknown
        words, agreement of the legs) alone, until `bench/fit.py` is run for that model.
        """
        if not self.embedding_model or name == self.embedding_model:
            return self
        weights = tuple(0.0 if f in MODEL_SCALED else w
                        for f, w in zip(FEATURES, self.weights, strict=True))
        return replace(self, weights=weights, embedding_model=name)

    def refuse_cut(self, language: str) -> float:
        """The refusal cut for a question in `language`."""
        return dict(self.refuse_by_language).get(language, self.refuse_below)

    def probability(self, evidence: Evidence) -> float:
        """How likely the corpus answers the question."""
        x = (np.array(features(evidence)) - np.array(self.mean)) / np.array(self.scale)
        return float(1 / (1 + np.exp(-(float(x @ np.array(self.weights)) + self.bias))))


@cache
def refusal_model(path: Path = MODEL) -> RefusalModel:
    """The fitted model stored as data."""
    data = json.loads(path.read_text(encoding="utf-8"))
    if tuple(data["features"]) != FEATURES:
        raise ValueError(f"{path}: features {data['features']} are not {FEATURES}")
    return RefusalModel(tuple(data["mean"]), tuple(data["scale"]), tuple(data["weights"]),
                        float(data["bias"]), float(data["refuse_below"]),
                        float(data["passages_below"]),
                        tuple(sorted(data.get("refuse_below_by_language", {}).items())),
                        str(data.get("embedding_model", "")))


def mode(evidence: Evidence, model: RefusalModel | None = None, language: str = "") -> str:
    """"answer", "passages" (relevant passages, no sentence stated as the answer) or
    "refusal", by the model's probability that the corpus answers a question in `language`."""
    model = model or refusal_model()
    p = model.probability(evidence)
    if p < model.refuse_cut(language):
        return "refusal"
    return "passages" if p < model.passages_below else "answer"


def sentence_support(concepts: list[Concept], hits: Sequence[Hit], params: FusionParams
                     ) -> list[np.ndarray]:
    """For each sentence of each hit, the weighted share of the question's concepts it holds
    (its document title, region and section count as context)."""
    result = []
    for hit in hits:
        context = document_context(hit.info)
        result.append(np.array([
            concept_coverage(concepts, f"{context} {fold(' '.join((*s.section, text)))}",
                             params.prefix_min)
            for s, text in zip(hit.chunk.sentences, hit.chunk.sentence_texts(), strict=True)
        ], dtype=np.float32))
    return result
