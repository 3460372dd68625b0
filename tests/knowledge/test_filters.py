from knowledge.documents import Chunk
from knowledge.filters import matches

CHUNK = Chunk("faq#0", "faq", "Refunds", "Refunds take five days.", section="Money", metadata={"team": "billing"})


def test_no_filters_match_everything() -> None:
    assert matches(CHUNK, None) and matches(CHUNK, {})


def test_fields_and_metadata_are_compared() -> None:
    assert matches(CHUNK, {"document_id": "faq", "section": "Money", "team": "billing"})
    assert not matches(CHUNK, {"team": "support"})
    assert not matches(CHUNK, {"lang": "en"})


def test_a_list_means_any_of() -> None:
    assert matches(CHUNK, {"team": ["support", "billing"]})
    assert not matches(CHUNK, {"document_id": ("other", "another")})
