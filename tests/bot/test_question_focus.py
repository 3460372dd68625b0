from bot.question_focus import answer_type_missing, asked_types, asks_nothing, unintroduced_reference
from knowledge.titles import TitleIndex


def test_a_demonstrative_on_the_first_turn_refers_to_nothing_introduced():
    assert unintroduced_reference("Does this Superior Court publish judges roster?", []) == 1.0
    assert unintroduced_reference("What is the main purpose of that NASA mission?", []) == 1.0
    assert unintroduced_reference("这个酒店是什么类型的？", []) == 1.0


def test_a_reference_after_a_history_that_names_something_is_no_underspecified_question():
    history = ["Tell me about the Superior Court of Alameda.", "It hears civil and criminal cases."]
    assert unintroduced_reference("Does this court publish a roster?", history) == 0.0
    assert unintroduced_reference("Does this court publish a roster?", ["Hi!", "Hello, how can I help?"]) == 1.0


def test_a_thing_the_message_names_first_is_introduced():
    assert unintroduced_reference("I use the Nimbus hub. Does this hub support Zigbee?", []) == 0.0
    titles = TitleIndex({"庆云楼(什刹海店)": frozenset({"r1"})})
    message = "你好，我要去庆云楼(什刹海店)吃饭，请告诉我这家餐馆的周边还有哪些餐馆？"
    assert unintroduced_reference(message, []) == 1.0  # 餐馆 was not said before 这家
    assert unintroduced_reference(message, [], titles) == 0.0  # but the restaurant was named by its title


def test_that_as_a_relative_pronoun_or_before_a_stopword_is_no_reference():
    assert unintroduced_reference("How do I delete the file that contains my key?", []) == 0.0
    assert unintroduced_reference("Is this possible?", []) == 0.0
    assert unintroduced_reference("What is that?", []) == 0.0


def test_asked_types_in_english_and_chinese():
    assert asked_types("Is it a paid service and how much?") == ["amount"]
    assert asked_types("When does the office open, and how many staff are there?") == ["time", "count"]
    assert asked_types("Could I ask that the room be clean when I arrive?") == []  # "when" inside a clause
    assert asked_types("这个景点的门票是多少钱？") == ["amount"]
    assert asked_types("营业时间是几点？") == ["time"]
    assert asked_types("Is it available in Spanish?") == []


def test_an_asked_amount_needs_a_sentence_with_a_price():
    overview = ["IAM controls access to resources.", "Access groups hold users."]
    assert answer_type_missing("Is IAM a paid service?", overview) == 1.0
    assert answer_type_missing("Is IAM a paid service?", [*overview, "IAM is free of charge."]) == 0.0
    assert answer_type_missing("人均消费是多少钱？", ["人均消费：137"]) == 0.0
    assert answer_type_missing("门票多少钱？", ["地址：故宫", "电话：010-1234"]) == 1.0


def test_an_asked_time_needs_a_time_and_a_count_a_number():
    assert answer_type_missing("How long does a refund take?", ["Refunds go to your card."]) == 1.0
    assert answer_type_missing("How long does a refund take?", ["Refunds take 5 days."]) == 0.0
    assert answer_type_missing("How long do refunds take?", ["Refunds reach your card within five days."]) == 0.0
    assert answer_type_missing("How many regions are there?", ["There are three regions."]) == 0.0
    assert answer_type_missing("几点开门？", ["营业时间：周一至周日 10:00-22:00"]) == 0.0
    assert answer_type_missing("How many regions are there?", ["There are 12 regions."]) == 0.0
    assert answer_type_missing("Why Mars?", ["Mars is red."]) == 0.0  # no asked type: never fires


def test_a_closer_asks_nothing_but_a_question_without_topic_words_does():
    assert asks_nothing("Thank you!") == 1.0
    assert asks_nothing("好的，谢谢") == 1.0
    assert asks_nothing("How does it work?") == 0.0
    assert asks_nothing("how do I use them") == 0.0  # a question word, even without "?"
    assert asks_nothing("tell me more") == 0.0  # a request
    assert asks_nothing("还有吗") == 0.0
    assert asks_nothing("Thanks, the refund arrived") == 0.0  # topic words: the model decides
