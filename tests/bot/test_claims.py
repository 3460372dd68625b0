import pytest

from bot.claims import Claim, claims, unsupported_claims

EVIDENCE = [
    "Replace the battery with a CR2032 coin cell. Refunds are issued within 30 calendar days. "
    "Visit https://example.com/help or write to help@example.com. Shipping costs $4.99.",
    "Can I bring my dog? No, pets are not allowed at this property.",
]


@pytest.mark.parametrize(
    ("reply", "wrong"),
    [
        ("The thermostat uses a 1000mAh battery.", ["1000 mah", "1000mAh"]),
        ("Use a CR2032 battery. [1]", []),
        ("Refunds take 30 days.", []),
        ("Refunds take 30 minutes.", ["30 minute"]),
        ("Refunds take 14 days.", ["14 day"]),
        ("Contact Zendesk support at help@example.com.", ["Zendesk"]),
        ("Write to sales@example.com.", ["sales@example.com"]),
        ("See https://example.com/help for details.", []),
        ("See https://evil.example.net/login for details.", ["https://evil.example.net/login"]),
        ("Shipping costs $4.99.", []),
        ("Yes, pets are allowed.", ["yes"]),
        ("No, pets are not allowed.", []),
    ],
)
def test_claims_the_evidence_lacks_are_unsupported(reply: str, wrong: list[str]) -> None:
    assert [claim.value for claim in unsupported_claims(reply, EVIDENCE, ["Deskbot"])] == wrong


def test_the_question_and_the_bots_names_count_as_evidence() -> None:
    assert unsupported_claims("Deskbot here: about your SKU-42 order.", EVIDENCE, ["Deskbot", "my SKU-42 order"]) == []


def test_numbers_are_compared_as_numbers() -> None:
    assert unsupported_claims("It costs 1,000 yuan.", ["价格：1000元"]) == []
    assert unsupported_claims("Version 3.50 is out.", ["Version 3.5 is current."]) == []


def test_chinese_replies_have_numbers_and_yes_no_checked() -> None:
    evidence = ["名称：北京饭店\n电话：010-65137766\n价格：1200"]
    assert unsupported_claims("电话是010-65137766。", evidence) == []
    assert [claim.value for claim in unsupported_claims("价格是1500元。", evidence)] == ["1500 元"]


def test_plain_prose_has_no_checkable_claims() -> None:
    assert claims("Please restart the app and try again.") == []
    assert claims("Restart it. Then try again.") == []


def test_citation_marks_are_not_claims() -> None:
    assert claims("It takes a coin cell [1][2], see [1, 3].") == []


def test_claims_are_reported_once_in_order() -> None:
    assert claims("Call 555 or 555, visit ACME.") == [Claim("number", "555"), Claim("code", "ACME")]
