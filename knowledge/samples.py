"""The sample help centres shipped with Deskbot (Nimbus Home, a fictional smart-home company), in English and in
Chinese (`[knowledge] sample = "zh"`, or `deskbot --sample zh ...`): the same company, products and policies."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).parent / "sample"
SAMPLE_DIRS = {"en": SAMPLE_DIR, "zh": Path(__file__).parent / "sample_zh"}
"""Each sample's folder: its articles under `nimbus/`, its evaluation questions in `questions.jsonl`."""


def sample_documents_folder(language: str = "en") -> Path:
    return SAMPLE_DIRS[language] / "nimbus"
