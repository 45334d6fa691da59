"""Questions into ranked hits: concepts, the dense and lexical legs, rank fusion."""
