"""Knowledge-base retrieval: Markdown chunking, MiniLM embeddings, a FAISS index with stable ids kept on disk,
BM25, reciprocal rank fusion and calibrated confidence. A library: no web framework and no backend imports.
"""
