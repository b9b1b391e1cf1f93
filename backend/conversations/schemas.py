"""Request and response bodies of the conversation API and the widget's WebSocket frames."""

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from backend.core.config import get_settings
from backend.core.text import Text


class MessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: Text = Field(description="What the customer typed.")
    client_message_id: Text | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_.:-]+$",
        description="Idempotency key chosen by the client: a re-sent message with this key is stored once.",
    )

    @field_validator("text")
    @classmethod
    def _text_fits(cls, value: str) -> str:
        text = value.strip()
        if not text:
            raise ValueError("text must not be empty")
        limit = get_settings().max_message_chars
        if len(text) > limit:
            raise ValueError(f"text is {len(text)} characters; the limit is {limit}")
        return text


class WidgetFrameIn(MessageIn):
    """A frame the widget sends over the WebSocket."""

    type: Literal["message"]


class ButtonOut(BaseModel):
    title: str
    payload: str


class CitationOut(BaseModel):
    title: str
    url: str = Field(description="Link to the knowledge article, site-relative or absolute http(s).")


class MessageOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    conversation_id: str
    sender: str
    author_name: str | None = None
    text: str
    buttons: list[ButtonOut] | None = None
    citations: list[CitationOut] | None = None
    client_message_id: str | None = None
    created_at: datetime


class ParsedMessageOut(MessageOut):
    """A customer message with what the bot understood of it (staff views)."""

    intent: str | None = None
    intent_confidence: float | None = None
    entities: list[dict[str, object]] | None = None
    sentiment_label: str | None = None
    sentiment_score: float | None = None
    bot_status: str | None = None


class TurnOut(BaseModel):
    message: MessageOut
    replies: list[MessageOut]
    duplicate: bool = Field(description="True when this client_message_id had already been stored.")


class SentimentPointOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    message_id: int
    at: datetime
    score: float = Field(description="Signed sentiment: -1 very negative, 0 neutral, +1 very positive.")
    rolling_mean: float = Field(description="Mean of this and the two previous customer messages.")


class SentimentTrajectoryOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    points: list[SentimentPointOut]
    latest: float | None
    mean: float | None
    trend: float = Field(description="Slope per message over the last 4 customer messages (< 0: souring).")
    negative_streak: int = Field(description="Consecutive negative customer messages at the end.")


class ConversationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: str
    customer_id: int | None
    channel: str
    owner: str
    status: str
    assigned_agent_id: int | None
    started_at: datetime
    last_message_at: datetime


class ConversationDetailOut(ConversationOut):
    messages: list[ParsedMessageOut]
    sentiment: SentimentTrajectoryOut | None = None
