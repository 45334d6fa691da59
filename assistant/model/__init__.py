"""The embedding model: the Embedder protocol and the offline e5 conversion."""
