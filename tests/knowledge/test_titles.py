from pathlib import Path

from knowledge.base import KnowledgeBase
from knowledge.documents import Chunk, Document
from knowledge.embedders.hashing import HashEmbedder
from knowledge.store import KnowledgeStore
from knowledge.titles import TitleIndex, TitleLookup, is_enumeration, name_form

# A tiny help desk of Beijing venues: 三里屯酒吧街 and 北京鹏润国际大酒店 are listed by their neighbours but have no
# document of their own.
VENUES = [
    Document(
        "a1",
        "国子监",
        "名称：国子监\n门票：30\n周边景点：雍和宫、地坛、三里屯酒吧街\n周边酒店：北京饭店、北京鹏润国际大酒店、北京丽晶酒店",
    ),
    Document("a2", "雍和宫", "名称：雍和宫\n门票：25\n周边景点：国子监、地坛、三里屯酒吧街"),
    Document("a3", "地坛", "名称：地坛\n门票：2\n周边景点：雍和宫、国子监"),
    Document("h1", "北京饭店", "名称：北京饭店\n价格：1200\n周边景点：国子监、雍和宫"),
    Document("h2", "北京丽晶酒店", "名称：北京丽晶酒店\n价格：1005"),
    Document("r1", "酒吧", "名称：酒吧\n人均消费：44\n周边餐馆：胖子小馆（朝阳店）"),
]
PRODUCTS = [
    Document(
        "p1", "Nimbus Hub", "The Nimbus Hub links every device.\nWorks with: Nimbus Sensor, Nimbus Relay, Nimbus Hub"
    ),
    Document("p2", "Nimbus Sensor", "Measures temperature.\nShips with: screws, batteries, a manual"),
    Document("p3", "Billing", "Invoices are sent monthly."),
]


def store_of(tmp_path: Path, documents: list[Document]) -> KnowledgeStore:
    kb = KnowledgeBase(tmp_path, HashEmbedder())
    kb.writer.add_documents(documents)
    return kb.store


def texts(index: TitleIndex, text: str) -> list[tuple[str, bool]]:
    return [(name.text, name.has_document) for name in index.names_in(text)]


def test_titles_and_listed_names_without_a_document_from_a_real_index(tmp_path: Path) -> None:
    index = TitleIndex.of_store(store_of(tmp_path, VENUES))
    assert index.titles["国子监"] == frozenset({"a1"})
    # 3 of 3 and 2 of 3 of the 周边 items are titles: entity lists; their other items are named without a document
    assert index.named_only == frozenset({"三里屯酒吧街", "北京鹏润国际大酒店"})
    assert texts(index, "推荐您去北京鹏润国际大酒店，或者北京饭店。") == [
        ("北京鹏润国际大酒店", False),
        ("北京饭店", True),
    ]


def test_the_longest_name_wins_and_forms_are_normalised(tmp_path: Path) -> None:
    index = TitleIndex.of_store(store_of(tmp_path, VENUES))
    assert texts(index, "三里屯酒吧街能呆多久？") == [("三里屯酒吧街", False)]  # not the title 酒吧 inside it
    assert texts(index, "去酒吧吧") == [("酒吧", True)]
    assert name_form("胖子小馆（朝阳店）") == name_form("胖子小馆(朝阳店)") == "胖子小馆(朝阳店)"


def test_english_names_match_whole_words_only(tmp_path: Path) -> None:
    index = TitleIndex.of_store(store_of(tmp_path, PRODUCTS))
    assert index.named_only == frozenset({"nimbus relay"})  # "screws, batteries, a manual" lists no titles
    assert texts(index, "Does the NIMBUS relay need batteries?") == [("nimbus relay", False)]
    assert texts(index, "billing questions") == [("billing", True)]
    assert texts(index, "rebilling of the Nimbus Hubs") == []


def test_items_cut_by_a_chunk_boundary_are_no_names() -> None:
    titles = {"t1": "雍和宫", "t2": "国子监", "t3": "地坛"}
    head = Chunk("c#0", "c", "某地", "名称：某地\n周边景点：雍和宫、国子监、地坛、北京古")  # the document goes on
    tail = Chunk("c#1", "c", "某地", "观象台、国子监、地坛、雍和宫\n门票：0")  # and this chunk starts inside it
    assert TitleIndex.build(titles, [head, tail]).named_only == frozenset()
    whole = Chunk("d#0", "d", "别处", "周边景点：雍和宫、国子监、地坛、北京古观象台")  # the whole document
    assert TitleIndex.build(titles, [whole]).named_only == frozenset({"北京古观象台"})


def test_an_enumeration_lists_names_one_after_the_other(tmp_path: Path) -> None:
    index = TitleIndex.of_store(store_of(tmp_path, VENUES))
    listing = "周边的景点有雍和宫, 地坛和国子监。"
    choice = "推荐您去雍和宫或者北京饭店。"
    assert is_enumeration(listing, index.names_in(listing))
    assert not is_enumeration(choice, index.names_in(choice))
    assert not is_enumeration("去地坛", index.names_in("去地坛"))


def test_an_index_without_titles_names_nothing(tmp_path: Path) -> None:
    untitled = [Document(f"d{i}", "", f"Article {i}: refunds, returns, billing") for i in range(3)]
    index = TitleIndex.of_store(store_of(tmp_path, untitled))
    assert (dict(index.titles), index.named_only) == ({}, frozenset())
    assert index.names_in("refunds and billing") == [] and index.names_in("") == []


def test_the_lookup_follows_the_snapshot_and_needs_a_store(tmp_path: Path) -> None:
    kb = KnowledgeBase(tmp_path, HashEmbedder())
    lookup = TitleLookup(lambda: kb.store)
    empty = lookup.current()
    assert empty is not None and dict(empty.titles) == {}  # a knowledge base never written
    kb.writer.add_documents(PRODUCTS)
    first = lookup.current()
    assert first is not None and "billing" in first.titles
    assert lookup.current() is first  # built once per snapshot
    kb.writer.add_documents([Document("p4", "Nimbus Relay", "Switches the boiler.")])
    assert lookup.current() is not first and texts(lookup.current() or first, "Nimbus Relay") == [
        ("nimbus relay", True)
    ]
    assert TitleLookup(lambda: None).current() is None
