"""Bodies of the service API's own routes (the ones whose domain has no schemas module of its own); their
fields are contract/service_api.py's, checked by tests/service_api/test_contract.py."""

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.core.text import Text
from contract.embedding import ENCODED_CHARS, as_bytes


class PersonOfferIn(BaseModel):
    """The turn in which the bot is about to offer a person, as the bot parsed it."""

    model_config = ConfigDict(extra="forbid")

    reason: Text = Field(min_length=1, max_length=500, description="The brief for the agent if handed over.")
    intent: Text = Field(min_length=1, max_length=64, description="The intent of the message being answered.")
    text: Text = Field(max_length=5000, description="The message being answered, as the customer wrote it.")
    # The labels and score of nlu/sentiment.py; None when the message was a button's payload (no NLU ran).
    sentiment_label: Text | None = Field(max_length=8)
    sentiment_score: float | None = Field(ge=-1.0, le=1.0)
    # The parse's sentence embedding (contract/embedding.py); absent when the parse carried none.
    # Its length and form are the validator's (contract/embedding.py), after Text's refusals of NUL and
    # lone surrogates, which every string input gives first.
    embedding: Text | None = Field(default=None, max_length=ENCODED_CHARS)

    @field_validator("embedding")
    @classmethod
    def _is_an_embedding(cls, value: str | None) -> str | None:
        if value is not None and as_bytes(value) is None:
            raise ValueError("not base64 of 384 little-endian half floats (contract/embedding.py)")
        return value


class PersonOfferOut(BaseModel):
    handed_over: bool
    case_id: int | None
    message: str | None
