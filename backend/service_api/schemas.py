"""Bodies of the service API's own routes (the ones whose domain has no schemas module of its own); their
fields are contract/service_api.py's, checked by tests/service_api/test_contract.py."""

from pydantic import BaseModel, ConfigDict, Field

from backend.core.text import Text


class PersonOfferIn(BaseModel):
    """The turn in which the bot is about to offer a person, as the bot parsed it."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500, description="The brief for the agent if handed over.")
    intent: Text = Field(min_length=1, max_length=64, description="The intent of the message being answered.")
    text: Text = Field(max_length=5000, description="The message being answered, as the customer wrote it.")
    # The labels and score of nlu/sentiment.py; None when the message was a button's payload (no NLU ran).
    sentiment_label: Text | None = Field(max_length=8)
    sentiment_score: float | None = Field(ge=-1.0, le=1.0)


class PersonOfferOut(BaseModel):
    handed_over: bool
    case_id: int | None
    message: str | None
