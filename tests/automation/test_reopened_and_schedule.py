"""The two triggers added last, through the API: a conversation reopened (after a resolution, and after the
idle end), and a schedule (every N minutes, per active conversation or once, scoped to business hours)."""

import time
from datetime import timedelta

from backend.automation.events import History, reopening_messages, slot_of
from backend.core.database import utcnow
from tests.automation.helpers import admin, decisions, dry_run, live, rule, say, settle, sweep, tags
from tests.automation.test_triggers import agent_resolves
from tests.dbcheck import execute, rows

REOPENED = {"type": "conversation_reopened"}
HOURLY = {"type": "schedule", "minutes": 60}


def tag(name: str) -> list[dict]:
    return [{"type": "add_tag", "tag": name}]


def clear_of_a_slot_end(minutes: int, margin: timedelta = timedelta(minutes=2)) -> None:
    """Start a schedule test with at least `margin` of the current slot left (else sleep into the next one).
    These tests compare what the engine's sweeps did with the slot the wall clock is in; a slot that ends in
    the middle of one (a chance of the test's length in the slot's, larger on a loaded machine) made the
    second sweep fire again, or the test name a slot the engine had not seen."""
    left = slot_of(utcnow(), minutes) + timedelta(minutes=minutes) - utcnow()
    if left < margin:
        time.sleep(left.total_seconds() + 0.5)


def test_reopening_is_read_from_the_rows():
    t0 = utcnow()
    at = [t0 + timedelta(minutes=m) for m in range(0, 100, 10)]
    idle = timedelta(minutes=30)
    chat = History(messages=[(1, at[0], "customer"), (2, at[0], "bot"), (3, at[1], "customer")])
    assert reopening_messages(chat, idle) == set()  # a reply within the idle end: the same conversation
    resolved = History([*chat.messages, (4, at[3], "customer")], cases=[(at[1], at[2])])
    assert reopening_messages(resolved, idle) == {4}
    closed = History([*chat.messages, (4, at[3], "customer")], closes=[at[2]])
    assert reopening_messages(closed, idle) == {4}
    quiet = History([*chat.messages, (4, at[5], "customer")])  # 40 minutes after the last message
    assert reopening_messages(quiet, idle) == {4}
    waiting = History(quiet.messages, cases=[(at[1], None)])  # an open case: the idle sweep ends nothing
    assert reopening_messages(waiting, idle) == set()


def test_conversation_reopened_after_resolution_and_after_the_idle_end(client, widget, database_url):
    headers = admin(client)
    rule_id = live(client, headers, rule(REOPENED, tag("reopened")), "reopened")
    conversation = widget["conversation_id"]
    say(client, widget, "I need help")
    assert tags(client, headers, conversation) == []  # the first message opens, it does not reopen
    agent_resolves(client, widget)
    say(client, widget, "one more thing")
    assert tags(client, headers, conversation) == ["reopened"]
    first = [d["message_id"] for d in decisions(client, headers, conversation)]
    say(client, widget, "and another")  # straight after: the conversation is open, nothing reopens
    assert [d["message_id"] for d in decisions(client, headers, conversation)] == first
    # Quiet past the idle end (30 minutes by default) with no open case: the next message reopens it. The
    # whole story moves 45 minutes back, in order, so the dry-run reads the same history.
    now, reopening = utcnow(), first[0]
    earlier = "UPDATE messages SET created_at = :t WHERE conversation_id = :c AND id < :m"
    execute(database_url, earlier, t=now - timedelta(minutes=55), c=conversation, m=reopening)
    later = "UPDATE messages SET created_at = :t WHERE conversation_id = :c AND id >= :m"
    execute(database_url, later, t=now - timedelta(minutes=45), c=conversation, m=reopening)
    case = "UPDATE cases SET created_at = :a, first_response_at = :a, resolved_at = :r "
    case += "WHERE conversation_id = :c"
    execute(database_url, case, a=now - timedelta(minutes=54), r=now - timedelta(minutes=50), c=conversation)
    execute(database_url, "DELETE FROM automation_tags WHERE conversation_id = :c", c=conversation)
    say(client, widget, "back again")
    assert tags(client, headers, conversation) == ["reopened"]
    live_keys = sorted(d["inputs"]["event"]["key"] for d in decisions(client, headers, conversation))
    assert len(live_keys) == 2
    # The dry-run finds the same two reopenings in the stored rows.
    replayed = sorted(p["event"]["key"] for p in dry_run(client, headers, rule_id)["planned"])
    assert replayed == live_keys


def test_a_schedule_acts_once_per_slot_on_active_conversations(client, widget, database_url):
    clear_of_a_slot_end(HOURLY["minutes"])
    headers = admin(client)
    rule_id = live(client, headers, rule(HOURLY, tag("hourly")), "hourly")
    closed = {"timezone": "UTC", "days": [], "opens": "09:00", "closes": "17:00"}  # never open
    live(client, headers, rule(HOURLY, tag("in-hours"), active="business_hours", calendar=closed), "in hours")
    conversation = widget["conversation_id"]
    say(client, widget, "hello")
    sweep(client)
    assert tags(client, headers, conversation) == []  # the message is in the slot still running
    # The message was written in the slot that ended at the top of the hour: that slot's event has it.
    slot = slot_of(utcnow(), 60)
    when = slot - timedelta(minutes=30)
    execute(
        database_url, "UPDATE messages SET created_at = :t WHERE conversation_id = :c", t=when, c=conversation
    )
    sweep(client)
    settle(client)
    assert tags(client, headers, conversation) == ["hourly"]  # and never in the closed calendar
    sweep(client)  # found again in the same slot: done once
    logged = decisions(client, headers, conversation)
    assert (
        len(logged) == 1
        and logged[0]["inputs"]["event"]["key"] == f"schedule:60:{slot.isoformat()}:{conversation}"
    )
    replayed = [p["event"]["key"] for p in dry_run(client, headers, rule_id)["planned"]]
    assert replayed == [logged[0]["inputs"]["event"]["key"]]


def test_a_schedule_without_conversations_fires_once_per_slot(client, database_url):
    clear_of_a_slot_end(30)
    headers = admin(client)
    note = [{"type": "notify_supervisors", "text": "Morning check: look at the queue."}]
    live(client, headers, rule({"type": "schedule", "minutes": 30, "target": "none"}, note), "check")
    sweep(client)
    sweep(client)
    fired = rows(database_url, "SELECT * FROM automation_firings WHERE action_type = 'notify_supervisors'")
    assert len(fired) == 1 and fired[0]["conversation_id"] is None and fired[0]["outcome"] == "done"
    assert fired[0]["event_key"] == f"schedule:30:{slot_of(utcnow(), 30).isoformat()}"
