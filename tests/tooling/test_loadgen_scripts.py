"""The load scripts' customers say what the bot's dialogue needs from them: a signed-in shopper asks about an
order of their own, an anonymous visitor gives the order's e-mail address when asked."""

import random

from scripts import loadgen
from scripts.loadgen import GUEST_EMAIL_TURN, GUEST_ORDER_EMAIL, SCRIPTS, Load, Shopper, customer_script

ORDER_SCRIPT = next(s for s in SCRIPTS if GUEST_EMAIL_TURN in s)
SHOPPERS = (Shopper("a@example.com", "ORD-100004"), Shopper("b@example.com", "ORD-100007"))


def test_an_anonymous_visitor_answers_the_email_question_after_naming_the_order():
    texts = customer_script(ORDER_SCRIPT, None)
    assert GUEST_EMAIL_TURN not in texts
    named = next(i for i, line in enumerate(texts) if "ORD-" in line)
    assert texts[named + 1] == GUEST_ORDER_EMAIL


def test_a_signed_in_shopper_asks_about_their_own_order_and_sends_no_email():
    texts = customer_script(ORDER_SCRIPT, "ORD-100004")
    assert GUEST_EMAIL_TURN not in texts and GUEST_ORDER_EMAIL not in texts
    assert [line for line in texts if "ORD-" in line] == ["where is my order ORD-100004?"]
    assert len(texts) == len(ORDER_SCRIPT) - 1


def test_scripts_without_an_order_are_sent_as_written():
    for script in SCRIPTS:
        if GUEST_EMAIL_TURN not in script:
            assert customer_script(script, None) == script == customer_script(script, "ORD-100004")


def test_the_full_and_the_bare_run_send_the_same_texts_for_the_same_customer():
    load = Load("http://127.0.0.1:1", customers=40, seed=5, identified_share=0.5, shoppers=SHOPPERS)
    signed_in = 0
    for index in range(40):
        first = [load.script(index, random.Random(index)) for _ in range(3)]
        again = [load.script(index, random.Random(index)) for _ in range(3)]
        assert first == again
        shopper = load.shopper(index)
        signed_in += shopper is not None
        for texts in first:
            if shopper is not None:
                assert GUEST_ORDER_EMAIL not in texts
                assert all(shopper.order in line for line in texts if "ORD-" in line)
            assert GUEST_EMAIL_TURN not in texts
    assert 0 < signed_in < 40


def test_without_shoppers_every_customer_is_anonymous():
    load = Load("http://127.0.0.1:1", customers=5, identified_share=1.0)
    assert all(load.shopper(i) is None and load.identity(i) == {} for i in range(5))
    assert loadgen.Load("x", 1, shoppers=SHOPPERS, identified_share=1.0).identity(0)["customer_email"] == (
        "a@example.com"
    )
