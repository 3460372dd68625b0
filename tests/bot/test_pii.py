from bot.pii import scrub_pii


def test_emails_phones_and_cards_are_replaced() -> None:
    scrubbed = scrub_pii("Mail jane.doe@example.com, call +44 20 7946 0958, card 4111 1111 1111 1111.")
    assert scrubbed.text == "Mail [EMAIL], call [PHONE], card [CARD]."
    assert scrubbed.replaced == 3


def test_ordinary_numbers_survive() -> None:
    text = "Order 1234567890123 from 2024-01-31: error E41, 17 years, 12.5% off, #12345678."
    assert scrub_pii(text).text == text


def test_mainland_mobile_numbers_are_replaced_bare_or_with_the_country_code() -> None:
    scrubbed = scrub_pii("我的手机号是13812345678，备用 +86 139 1234 5678。")
    assert scrubbed.text == "我的手机号是[PHONE]，备用 [PHONE]。" and scrubbed.replaced == 2


def test_resident_id_numbers_with_a_valid_check_character_are_replaced() -> None:
    assert scrub_pii("身份证号11010519491231002X，请核对").text == "身份证号[ID]，请核对"
    assert scrub_pii("ID 440304200010151233.").text == "ID [ID]."


def test_eighteen_digits_with_a_wrong_check_character_or_date_survive() -> None:
    wrong_check = "身份证号110105194912310021"
    assert scrub_pii(wrong_check).text == wrong_check
    not_a_date = "订单号 110105194913310021"  # month 13
    assert scrub_pii(not_a_date).text == not_a_date


def test_other_eleven_digit_numbers_survive() -> None:
    text = "订单号 20240131001，快递单号 12345678901"
    assert scrub_pii(text).text == text


def test_decimal_numbers_such_as_a_slack_timestamp_survive_but_dotted_phone_numbers_do_not() -> None:
    conversation = "slack:T123ABC456:C123ABC456:1712345678.123456, total 1234567.89"
    assert scrub_pii(conversation).text == conversation
    assert scrub_pii("call 555.867.5309 today").text == "call [PHONE] today"
