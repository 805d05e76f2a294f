"""Symbol texts, the embedder and the vector index (astrepo.embeddings)."""
