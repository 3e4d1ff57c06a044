"""Letters QA indexing: load → clean → metadata → chunk → embed → FAISS + BM25, persisted."""
__version__ = "0.1.0"
