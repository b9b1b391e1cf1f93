from backend.conversations.notifier import Notifier


async def test_subscribers_of_a_topic_get_its_events_only():
    notifier = Notifier()
    async with notifier.subscribe("a") as a, notifier.subscribe("b") as b:
        notifier.publish("a", {"n": 1})
        assert a.get_nowait() == {"n": 1}
        assert b.empty()
    notifier.publish("a", {"n": 2})  # nobody listens any more: no error, nothing kept
    assert notifier._queues == {}


async def test_a_slow_subscriber_drops_its_oldest_events_instead_of_blocking():
    notifier = Notifier(queue_size=2)
    async with notifier.subscribe("a") as a:
        for n in range(5):
            notifier.publish("a", {"n": n})
        assert [a.get_nowait()["n"] for _ in range(a.qsize())] == [3, 4]
