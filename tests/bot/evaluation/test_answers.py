from bot.evaluation.metrics import abstention_scores, citation_precision


def test_abstention_scores_positive_class_is_should_not_answer():
    precision, recall, f1 = abstention_scores([True, True, False, False], [True, False, True, False])
    assert (precision, recall, f1) == (0.5, 0.5, 0.5)
    assert abstention_scores([False], [False]) == (0.0, 0.0, 0.0)


def test_citation_precision_is_micro_averaged():
    assert citation_precision([["a", "b"], ["c"]], [["a"], ["c"]]) == 2 / 3
    assert citation_precision([], []) == 0.0


def test_token_f1_is_word_overlap_and_handles_chinese():
    from bot.evaluation.metrics import token_f1

    assert token_f1(["the cell is a CR2032"], ["the cell is a CR2032"]) == 1.0
    assert token_f1(["北京饭店的电话"], ["北京饭店的电话"]) == 1.0
    assert token_f1(["nothing shared"], ["entirely different"]) == 0.0
    assert 0.0 < token_f1(["a CR2032 cell"], ["it takes a CR2032"]) < 1.0


def result(answer: str, text: str, kind: str, cited: tuple[str, ...] = ("d",), answerable: bool = True):
    from bot.evaluation.answers import AnswerResult, unsupported_in
    from bot.evaluation.questions import Question

    question = Question(id=text, question="Which battery?", answer=answer, relevant_ids=("d",), answerable=answerable)
    evidence = {"d": "The Nimbus Thermo takes one CR2032 coin cell."}.get
    abstained = kind == "abstain"
    return AnswerResult(
        question=question,
        text=text,
        kind=kind,  # type: ignore[arg-type]
        abstained=abstained,
        cited=() if abstained else cited,
        latency_ms=10.0,
        ttft_ms=5.0,
        unsupported=unsupported_in(text, () if abstained else cited, lambda doc: evidence(doc, ""), question.question),
    )


def test_the_summary_counts_invented_claims_per_answered_item_and_by_kind():
    from bot.evaluation.answers import summarise

    results = [
        result("It takes a CR2032.", "It takes one CR2032 coin cell.", "composed"),
        result("It takes a CR2032.", "It uses a 1000mAh battery.", "answer"),
        result("It takes a CR2032.", "I could not find that.", "abstain"),
        result("", "I could not find that.", "abstain", answerable=False),
    ]
    summary = summarise(results)
    assert summary["unsupported_claim_rate"] == 0.5  # one of the two answered replies invents a fact
    assert summary["false_abstain_rate"] == round(1 / 3, 4)
    assert summary["by_kind"]["composed"]["unsupported_claim_rate"] == 0.0
    assert summary["by_kind"]["answer"]["unsupported_claim_rate"] == 1.0
    assert summary["by_kind"]["abstain"]["n"] == 2
    assert summary["token_f1"] > 0.0
    assert summary["citing_nothing"] == 0  # abstentions cite nothing and are not counted
    uncited = summarise([*results, result("It takes a CR2032.", "It is fine.", "answer", cited=())])
    assert uncited["citing_nothing"] == 1


def test_claims_are_checked_against_the_cited_documents_only():
    from bot.evaluation.answers import unsupported_in

    evidence = {"d": "It takes one CR2032 coin cell.", "e": "It takes a 1000mAh pack."}.get
    assert unsupported_in("It uses a 1000mAh pack.", ("d",), lambda doc: evidence(doc, ""), "q") == (
        "1000 mah",
        "1000mAh",
    )
    assert unsupported_in("It uses a 1000mAh pack.", ("e",), lambda doc: evidence(doc, ""), "q") == ()


def attributed_result(text: str, cited: tuple[str, ...], kind: str = "answer"):
    from bot.evaluation.answers import AnswerResult, attributed_in
    from bot.evaluation.questions import Question

    documents = {
        "battery": "Nimbus Thermo battery. The Nimbus Thermo takes one CR2032 coin cell.",
        "returns": "Returns. You can return any product within 30 days of delivery.",
    }
    question = Question(id=text, question="q", answer="a", relevant_ids=("battery",))
    return AnswerResult(
        question=question,
        text=text,
        kind=kind,  # type: ignore[arg-type]
        abstained=False,
        cited=cited,
        latency_ms=1.0,
        ttft_ms=1.0,
        attributed=attributed_in(text, cited, lambda doc: documents.get(doc, "")),
    )


def test_citation_attribution_counts_a_cited_document_the_reply_did_not_use_against_it():
    from bot.evaluation.answers import citation_attribution, summarise

    used = attributed_result("It takes one CR2032 coin cell.", ("battery",))
    padded = attributed_result("It takes one CR2032 coin cell.", ("battery", "returns"))
    assert used.attributed == ("battery",) and padded.attributed == ("battery",)
    assert citation_attribution([used]) == 1.0
    assert citation_attribution([used, padded]) == 2 / 3
    wrong = attributed_result("You can return it within 30 days.", ("battery",))
    assert wrong.attributed == () and citation_attribution([wrong]) == 0.0
    composed = attributed_result("The Nimbus Thermo takes one CR2032 coin cell.", ("battery",), "composed")
    summary = summarise([composed, wrong])
    assert summary["citation_attribution"] == 0.5
    assert summary["by_kind"]["composed"]["citation_attribution"] == 1.0
    assert summary["by_kind"]["answer"]["citation_attribution"] == 0.0


def test_citation_attribution_is_not_reported_without_document_text():
    from bot.evaluation.answers import AnswerResult, attributed_in, citation_attribution
    from bot.evaluation.questions import Question

    assert attributed_in("It takes one CR2032 coin cell.", ("battery",), None) is None
    result = AnswerResult(Question(id="x", question="q", answer="a"), "It takes one.", "answer", False, ("d",), 1, 1)
    assert citation_attribution([result]) is None
