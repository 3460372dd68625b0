from knowledge.deduplication import DuplicateFinder
from knowledge.documents import Document

BODY = " ".join(f"word{i}" for i in range(120))


def test_exact_and_near_duplicates_are_found_first_one_kept() -> None:
    documents = [
        Document("a", "Returns", BODY),
        Document("b", "Returns", BODY),
        Document("c", "Returns", BODY.replace("word60", "changed")),
        Document("d", "Shipping", " ".join(f"other{i}" for i in range(120))),
    ]
    found = {d.document_id: (d.kept_id, d.exact) for d in DuplicateFinder().find(documents)}
    assert found == {"b": ("a", True), "c": ("a", False)}


def test_different_documents_are_not_duplicates() -> None:
    documents = [Document("a", "Hotel A", "Yes, pets are allowed at Hotel A."), Document("b", "Hotel B", "No pets.")]
    assert DuplicateFinder().find(documents) == []
