"""Answers product, pricing and policy questions from the knowledge base, citing the article(s) used.

The backend's search (dense + BM25, fused, with a calibrated confidence) decides whether the top article is
confident enough to answer with. When it is not, the bot says so and the rules offer a person, rather than
guess. How it says so is a bot-flow experiment (backend/experiments/flows.py, flow kb-not-sure): `not_sure`
(the default) only says it is not sure; `suggest_closest` also shows the closest article's passage, as
possibly not the answer, with its link. Either way the slot is `not_sure` and the rules offer a person, so
the variant needs no retraining. The outcome goes into the `kb_answer` slot (answered, not_sure,
unavailable, or repeated when the answer would be the bot's last reply again), which the rules in
bot/data/rules.yml branch on.
"""

import logging
from collections.abc import Sequence

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, SlotSet
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.types import DomainDict

from actions import backend_client, messages
from actions.conversation_events import last_reply
from contract.service_api import KnowledgeHit

logger = logging.getLogger(__name__)

KB_NOT_SURE_FLOW = "kb-not-sure"
SUGGEST_CLOSEST = "suggest_closest"
MAX_CITATIONS = 2  # the answer's article, plus one more only when it is also confident


class ActionAnswerFromKnowledge(Action):
    def name(self) -> str:
        return "action_answer_from_knowledge"

    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: DomainDict
    ) -> list[EventType]:
        question = (tracker.latest_message.get("text") or "").strip()
        try:
            found = await backend_client.search_knowledge(question, conversation_id=tracker.sender_id)
        except backend_client.BackendError as error:
            logger.warning("knowledge search failed for %s: %s", tracker.sender_id, error)
            dispatcher.utter_message(text=messages.KB_UNAVAILABLE)
            return [SlotSet("kb_answer", "unavailable")]
        hits = found.results
        if not found.answerable or not hits:
            # Only a conversation with an article to show meets the flow, so only such a one is enrolled.
            if hits and await not_sure_variant(tracker.sender_id) == SUGGEST_CLOSEST:
                dispatcher.utter_message(
                    text=messages.knowledge_closest(hits[0]), json_message={"citations": citations(hits[:1])}
                )
            else:
                dispatcher.utter_message(text=messages.KB_NOT_SURE)
            return [SlotSet("kb_answer", "not_sure")]
        return [SlotSet("kb_answer", answer(dispatcher, tracker, hits))]


def answer(dispatcher: CollectingDispatcher, tracker: Tracker, hits: Sequence[KnowledgeHit]) -> str:
    """Answers with the top article and returns `answered`; or, when that answer is what the bot said in its
    last reply, says so instead and returns `repeated` (the rules then offer a person)."""
    text = messages.knowledge_answer(hits[0])
    if text in last_reply(tracker.events):
        dispatcher.utter_message(text=messages.knowledge_repeated(hits[0]))
        return "repeated"
    dispatcher.utter_message(text=text, json_message={"citations": citations(hits)})
    return "answered"


async def not_sure_variant(conversation_id: str) -> str:
    """The conversation's variant of flow kb-not-sure; the default when the backend cannot say."""
    try:
        return (await backend_client.flow_variant(KB_NOT_SURE_FLOW, conversation_id)).variant
    except backend_client.BackendError as error:
        logger.warning("flow variant for %s failed: %s", conversation_id, error)
        return "not_sure"


def citations(hits: Sequence[KnowledgeHit]) -> list[dict[str, str]]:
    """The top article, and the next ones that are answerable too, each once."""
    chosen: dict[str, dict[str, str]] = {}
    for position, hit in enumerate(hits):
        if position > 0 and not hit.answerable:
            continue
        if hit.slug and hit.slug not in chosen:
            chosen[hit.slug] = {"title": hit.title or hit.slug, "url": hit.url}
        if len(chosen) == MAX_CITATIONS:
            break
    return list(chosen.values())
