"""The load generator's accounting catches lost, reordered and twice-answered messages."""

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

from scripts.loadgen import SentMessage, account

T0 = datetime(2026, 12, 1, tzinfo=UTC)


def sent(client_id: str, acked: bool = True, conversation: str = "c") -> SentMessage:
    return SentMessage(conversation, client_id, "hi", 0.0, acked_at=1.0 if acked else None)


def row(id_: int, sender: str, client_id: str | None = None, reply_to: int | None = None, **kw: object):
    fields = {"conversation_id": "c", "bot_status": "answered" if sender == "customer" else None}
    fields |= {"created_at": T0 + timedelta(seconds=id_), "text": "x"} | kw
    return SimpleNamespace(id=id_, sender=sender, client_message_id=client_id, in_reply_to=reply_to, **fields)


def test_a_clean_conversation_counts_nothing_wrong():
    counts = account(
        [sent("a"), sent("b")],
        [
            row(1, "customer", "a"),
            row(2, "bot", reply_to=1),
            row(3, "customer", "b"),
            row(4, "bot", reply_to=3),
        ],
    )
    assert counts == {
        "sent": 2, "accepted": 2, "stored": 2, "answered": 2, "holding": 0, "unanswered": 0,
        "lost": 0, "reordered": 0, "double_answered": 0,
    }  # fmt: skip


def test_an_acked_message_missing_from_the_database_is_lost_but_an_unacked_one_is_not():
    counts = account([sent("a"), sent("b"), sent("c", acked=False)], [row(1, "customer", "a")])
    assert counts["accepted"] == 2 and counts["lost"] == 1 and counts["stored"] == 1


def test_messages_stored_out_of_order_or_replies_after_the_next_message_are_reordered():
    swapped = account([sent("a"), sent("b")], [row(1, "customer", "b"), row(2, "customer", "a")])
    late_reply = account(
        [sent("a"), sent("b")], [row(1, "customer", "a"), row(2, "customer", "b"), row(3, "bot", reply_to=1)]
    )
    assert swapped["reordered"] == 1 and late_reply["reordered"] == 1


def test_two_batches_of_replies_to_one_message_are_a_double_answer():
    counts = account(
        [sent("a")],
        [row(1, "customer", "a"), row(2, "bot", reply_to=1), row(3, "bot", reply_to=1, created_at=T0)],
    )
    assert counts["double_answered"] == 1


def test_holding_and_pending_are_told_apart():
    counts = account(
        [sent("a"), sent("b")],
        [row(1, "customer", "a", bot_status="failed"), row(2, "customer", "b", bot_status="pending")],
    )
    assert (counts["answered"], counts["holding"], counts["unanswered"]) == (0, 1, 1)
