"""The sample help centre shipped with Deskbot (Nimbus Home, a fictional smart-home company)."""

from pathlib import Path

SAMPLE_DIR = Path(__file__).parent / "sample"


def sample_documents_folder() -> Path:
    return SAMPLE_DIR / "nimbus"
