from bot.pii import scrub_pii


def test_emails_phones_and_cards_are_replaced() -> None:
    scrubbed = scrub_pii("Mail jane.doe@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111.")
    assert scrubbed.text == "Mail [EMAIL], call [PHONE], card [CARD]."
    assert scrubbed.replaced == 3


def test_ordinary_numbers_survive() -> None:
    text = "Order 1234567890123 from 2024-01-31: error E41, 17 years, 12.5% off, #12345678."
    assert scrub_pii(text).text == text
