from knowledge.cleaning import clean_text


def test_whitespace_controls_and_boilerplate_go() -> None:
    raw = (
        "Skip to main content\r\n\ufeffReturns\t\tpolicy \x07\n\n\n\nItems  within 30 days.\n"
        "Was this article helpful?\n"
    )
    assert clean_text(raw) == "Returns policy\n\nItems within 30 days."


def test_ordinary_text_is_kept() -> None:
    text = "# Heading\n\nShare your screen with support to get help."
    assert clean_text(text) == text
