"""Knowledge gaps: paraphrases of one unanswered question cluster together and apart from another; a cluster
becomes a draft article prefilled from the agent's reply, published through the knowledge-base path and then
found by the knowledge search."""

from backend.decisions.models import Decision
from tests.app_fixtures import SERVICE_HEADERS, staff_headers
from tests.assist.seeding import conversation, online
from tests.decisions.helpers import insert

ICELAND = [
    "Do you ship to Iceland?",
    "Can you deliver my order to Reykjavik, Iceland?",
    "is shipping to iceland possible",
    "Will you send parcels to Iceland",
    "I live in Iceland, can I order from you?",
]
BITCOIN = [
    # Lower case on purpose: the PII redactor takes a capitalised "Bitcoin" after "pay with" for a person's
    # name ("Can I pay with [NAME]?"), and the clustering reads redacted text only.
    "can I pay with bitcoin?",
    "do you accept cryptocurrency payments",
    "Is paying in BTC possible?",
    "can i use crypto to pay for my order",
    "Do you take bitcoin or ethereum?",
]
ICELAND_REPLY = (
    "Yes, we ship to Iceland with DHL Express: 4 to 6 business days, import duties are paid on delivery."
)


def seed(database_url: str) -> tuple[set[int], set[int]]:
    alex = online(database_url, "alex@northwind.example")
    fell_back = set()
    for question in ICELAND:  # the bot fell back (nlu_fallback), an agent answered and resolved
        seeded = conversation(database_url, None, [question], [ICELAND_REPLY], alex)
        fell_back.add(seeded["questions"][0])
    handed = set()
    for question in BITCOIN:  # handed over by the hand-off policy, still open
        seeded = conversation(
            database_url, None, [question], [], alex, status="accepted", days_ago=1, intent="payment_methods"
        )
        message_id = seeded["questions"][0]
        insert(
            database_url,
            Decision(
                kind="handoff",
                action="handoff",
                version="rules",
                reasons=["the bot did not understand two messages"],
                conversation_id=seeded["conversation_id"],
                case_id=seeded["case_id"],
                message_id=message_id,
            ),
        )
        handed.add(message_id)
    return fell_back, handed


def test_paraphrases_cluster_and_a_draft_publishes_into_search(database_url, client):
    iceland, bitcoin = seed(database_url)
    admin = staff_headers(client, "admin@northwind.example")
    assert client.post("/api/assist/gaps/run", headers=staff_headers(client)).status_code == 403
    ran = client.post("/api/assist/gaps/run", headers=admin)
    assert ran.status_code == 200, ran.text
    clusters = {
        frozenset(e["message_id"] for e in c["examples"]): c
        for c in client.get("/api/assist/gaps", headers=admin).json()
    }
    assert set(clusters) == {frozenset(iceland), frozenset(bitcoin)}
    shipping = clusters[frozenset(iceland)]
    assert shipping["size"] == 5 and shipping["label"] in ICELAND
    assert [r["text"] for r in shipping["replies"]] == [ICELAND_REPLY]
    assert {e["why"] for e in clusters[frozenset(bitcoin)]["examples"]} == {"handed_over"}

    question = {"q": "Can you ship an order to Iceland?", "k": 3}
    before = client.get("/api/v1/kb/search", params=question, headers=admin).json()
    drafted = client.post(f"/api/assist/gaps/{shipping['id']}/draft", headers=admin)
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    assert draft["status"] == "draft" and draft["title"] == shipping["label"]
    article = client.get(f"/api/v1/kb/articles/{draft['slug']}", headers=admin).json()
    assert ICELAND_REPLY in article["body"]
    assert client.post(f"/api/assist/gaps/{shipping['id']}/draft", headers=admin).status_code == 409
    # A draft is not searchable; once published through the knowledge-base route it is the top answer.
    hidden = client.get("/api/v1/kb/search", params=question, headers=admin).json()
    assert draft["slug"] not in [r["slug"] for r in hidden["results"]]
    assert client.post(f"/api/v1/kb/articles/{draft['slug']}/publish", headers=admin).status_code == 200
    after = client.get("/api/v1/kb/search", params=question, headers=admin).json()
    assert after["results"][0]["slug"] == draft["slug"]
    assert before["results"][0]["slug"] != draft["slug"]

    # The bot's own searches (the action server's route) log their answers; those the new article answered
    # are counted on the cluster.
    bot_answers = [
        client.get("/api/v1/service/kb/search", params={"q": q}, headers=SERVICE_HEADERS).json()
        for q in ("Do you ship to Iceland?", "shipping to Reykjavik", "How do I reset my password?")
    ]
    expected = sum(1 for a in bot_answers if a["answerable"] and a["results"][0]["slug"] == draft["slug"])
    assert expected >= 1, [(a["answerable"], a["results"][0]["slug"]) for a in bot_answers]
    listed = {c["id"]: c for c in client.get("/api/assist/gaps", headers=admin).json()}
    assert listed[shipping["id"]]["answered_since"] == expected
    assert listed[shipping["id"]]["article_slug"] == draft["slug"]
