from pathlib import Path

import pytest

from knowledge.errors import LoaderError
from knowledge.loaders.csv_faq import CsvFaqLoader


def test_each_row_is_a_document(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text(
        'Question,Answer,Category\n"How long is shipping?","3-5 days, usually.",orders\n,skipped row,x\n'
        "Can I return items?,Within 30 days.,returns\n",
        encoding="utf-8",
    )

    documents = list(CsvFaqLoader().load(path, tmp_path))

    assert [d.title for d in documents] == ["How long is shipping?", "Can I return items?"]
    assert documents[0].text == "3-5 days, usually."
    assert documents[0].id == "faq-2"
    assert documents[0].metadata["Category"] == "orders"


def test_id_column_gives_ids_and_semicolons_work(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("id;q;a\nship-1;How long is shipping?;Three days.\n", encoding="utf-8")
    [document] = CsvFaqLoader().load(path, tmp_path)
    assert document.id == "ship-1"


def test_missing_columns_are_named(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("name,price\nwidget,3\n", encoding="utf-8")
    with pytest.raises(LoaderError, match=r"found columns: name, price"):
        list(CsvFaqLoader().load(path, tmp_path))


def test_duplicate_ids_are_reported_with_the_line(tmp_path: Path) -> None:
    path = tmp_path / "faq.csv"
    path.write_text("id,question,answer\na,Q1?,A1\na,Q2?,A2\n", encoding="utf-8")
    with pytest.raises(LoaderError, match=r"line 3: duplicate id 'a'"):
        list(CsvFaqLoader().load(path, tmp_path))
