"""Language knowledge: folding, word lists as data per language, compounds, å/ä/ö repair,
domain terms, personal numbers."""
