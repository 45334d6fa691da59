"""A small logistic regression in numpy (standardised inputs, L2, class-balanced), and the
cut-offs of the answer's three modes: fitted by bench/fit.py."""

from __future__ import annotations

from typing import Any

import numpy as np

L2 = 1.0  # ridge penalty on the standardised weights (judgement call: few, correlated inputs)
STEPS = 3000
RATE = 0.1
MAX_ANSWERABLE_REFUSED = 0.04  # the refusal cut keeps this share of answerable training refused
# Utility of each outcome when choosing the passages cut (judgement call): a wrong stated
# answer costs as much as a right one gains; showing passages is worth half either way.
UTILITY = {"answer_right": 1.0, "answer_wrong": -1.0, "passages_right": 0.5,
           "passages_wrong": -0.5, "refused_unanswerable": 1.0}


def fit_logistic(x: np.ndarray, y: np.ndarray) -> dict[str, Any]:
    """Weights of P(y=1 | x), classes weighted equally; gradient descent on the log loss."""
    mean, scale = x.mean(0), x.std(0)
    scale[scale == 0] = 1.0
    z = (x - mean) / scale
    w, b = np.zeros(x.shape[1]), 0.0
    weight = np.where(y == 1, 0.5 / max(y.sum(), 1), 0.5 / max((1 - y).sum(), 1))
    for _ in range(STEPS):
        p = 1 / (1 + np.exp(-(z @ w + b)))
        g = (p - y) * weight
        w -= RATE * (z.T @ g + L2 * w / len(y))
        b -= RATE * float(g.sum())
    return {"mean": mean.tolist(), "scale": scale.tolist(), "weights": w.tolist(), "bias": b}


def probability(model: dict[str, Any], x: np.ndarray) -> np.ndarray:
    """P(y=1) of each row."""
    z = (x - np.array(model["mean"])) / np.array(model["scale"])
    return 1 / (1 + np.exp(-(z @ np.array(model["weights"]) + model["bias"])))


def choose_cuts(p: np.ndarray, answerable: np.ndarray, real: np.ndarray, lead_gold: np.ndarray,
                top_gold: np.ndarray) -> tuple[float, float]:
    """The refusal cut (a low quantile of the real answerable questions' P) and the passages
    cut (the one of highest total utility above it)."""
    pos = p[answerable & real]
    refuse = float(np.quantile(pos, MAX_ANSWERABLE_REFUSED)) if len(pos) else 0.5
    best, best_u = refuse, -np.inf
    for cut in sorted({refuse, *np.round(np.linspace(refuse, 1.0, 41), 4)}):
        u = utility(p, answerable, lead_gold, top_gold, refuse, cut)
        if u > best_u:
            best, best_u = cut, u
    return refuse, float(best)


def utility(p: np.ndarray, answerable: np.ndarray, lead_gold: np.ndarray, top_gold: np.ndarray,
            refuse: float, cut: float) -> float:
    """Total utility of the modes the two cuts give."""
    u = 0.0
    for pi, a, lead, top in zip(p, answerable, lead_gold, top_gold, strict=True):
        if pi < refuse:
            u += 0.0 if a else UTILITY["refused_unanswerable"]
        elif pi < cut:
            u += UTILITY["passages_right"] if a and top else UTILITY["passages_wrong"]
        else:
            u += UTILITY["answer_right"] if a and lead else UTILITY["answer_wrong"]
    return u
