"""Evaluation of retrieval and answers on question files (the format of ../shared/data)."""
