"""Retrievers over a `KnowledgeStore`: dense (FAISS), lexical (BM25) and hybrid (both, fused by reciprocal rank).

Each conforms to `knowledge.retrieval.Retriever`; the hybrid retriever composes the other two.
"""
