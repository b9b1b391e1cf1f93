"""`ComplaintInPraise`: a compliment the customer does not mean, read as the complaint it is.

"oh fantastic, the site logged me out AGAIN", "wow, amazing answer, so helpful 🙄", "two months for a
headlamp. I'm writing a review about this shop tonight": the intent classifier hears the praise and says
`compliment`, and the bot thanked angry customers ("Thank you, that's lovely to hear!"). Coming after the
sentiment analyzer, this component reads a `compliment` as `complaint` when the message's sentiment is
negative or its praise comes with the service failing (contract/sarcasm.py). The bot then apologises and
offers a person, as for any complaint, and the hand-off policy sees a complaint. Nothing is trained: it
reads what the two components before it wrote. The parse keeps what the classifier said under
`intent_read_from`, so a reader of the tracker can tell the two apart.
"""

from __future__ import annotations

from typing import Any

from rasa.engine.graph import ExecutionContext, GraphComponent
from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.engine.storage.resource import Resource
from rasa.engine.storage.storage import ModelStorage
from rasa.shared.nlu.constants import INTENT, INTENT_NAME_KEY, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

from contract.sarcasm import is_sarcastic
from nlu.sentiment import SENTIMENT

COMPLIMENT, COMPLAINT = "compliment", "complaint"
READ_FROM = "intent_read_from"


def reads_as_complaint(text: str, sentiment: dict[str, Any] | None) -> bool:
    """Whether a message the classifier called a compliment is a complaint: negative, or sarcastic."""
    return (sentiment or {}).get("label") == "negative" or is_sarcastic(text)


def as_complaint(message: Message) -> None:
    """Name the message's intent `complaint` at the compliment's confidence, first in the ranking too."""
    intent = dict(message.get(INTENT) or {})
    message.set(READ_FROM, intent.get(INTENT_NAME_KEY), add_to_output=True)
    message.set(INTENT, {**intent, INTENT_NAME_KEY: COMPLAINT}, add_to_output=True)
    ranking = message.get(INTENT_RANKING_KEY)
    if ranking:
        top = {**ranking[0], INTENT_NAME_KEY: COMPLAINT}
        rest = [r for r in ranking[1:] if r.get(INTENT_NAME_KEY) != COMPLAINT]
        message.set(INTENT_RANKING_KEY, [top, *rest], add_to_output=True)


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=False)
class ComplaintInPraise(GraphComponent):
    """Reads a negative or sarcastic `compliment` as `complaint` (see the module's docstring)."""

    @classmethod
    def create(
        cls,
        config: dict[str, Any],
        model_storage: ModelStorage,
        resource: Resource,
        execution_context: ExecutionContext,
    ) -> ComplaintInPraise:
        return cls()

    def process(self, messages: list[Message]) -> list[Message]:
        for message in messages:
            intent, text = message.get(INTENT) or {}, message.get(TEXT)
            if intent.get(INTENT_NAME_KEY) != COMPLIMENT or not text:
                continue
            if reads_as_complaint(text, message.get(SENTIMENT)):
                as_complaint(message)
        return messages
