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


def test_chinese_near_duplicates_are_found_by_their_words() -> None:
    from knowledge.deduplication import DuplicateFinder

    text = (
        "故宫博物院位于北京市中心，是明清两代的皇家宫殿，旧称紫禁城。开放时间为早上八点半到下午五点，周一闭馆。"
        "旺季门票六十元，淡季门票四十元，学生凭学生证半价。游客需要提前在官方网站实名预约，每天限流三万人。"
        "推荐游览路线从午门进入，经过太和殿、中和殿、保和殿，再到乾清宫和御花园，最后从神武门离开。"
        "馆内提供中文、英文和日文的语音导览设备租赁，押金一百元。园区内禁止吸烟，部分宫殿内部禁止拍照。"
        "东华门附近设有行李寄存处和无障碍通道，轮椅可以免费借用。珍宝馆和钟表馆需要另外购票，每馆十元。"
        "冬季下雪以后游客较多，建议早上开门时入园。馆内有餐厅和咖啡馆，也可以在御花园附近的商店购买纪念品。"
    )  # about 120 words, as long as the English case above: one changed word moves five shingles
    first = Document("a", "故宫", text)
    second = Document("b", "故宫", text.replace("押金一百元", "押金两百元"))
    other = Document("c", "颐和园", "颐和园是清代的皇家园林，位于北京西郊，门票三十元，开放时间为早上六点到晚上八点。")
    assert [d.document_id for d in DuplicateFinder().find([first, second, other])] == ["b"]
