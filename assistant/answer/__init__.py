"""Hits into an answer: what the question asks, follow-ups, refusal evidence, and the quoted
sentences with their citations."""
