"""Agent bodies."""

from pydantic import BaseModel, ConfigDict


class AgentOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    name: str
    email: str
    role: str
    team: str | None
    skills: dict[str, int]
    languages: list[str]
    max_concurrent_cases: int
    status: str
    avatar_url: str | None
