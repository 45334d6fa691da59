"""Hits into an answer: what the question asks, follow-ups, refusal evidence, quoted sentences with citations."""
