"""Staff sign-in: OAuth2 password flow returning a signed bearer token."""

import hashlib
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, status
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel
from sqlalchemy import func, select

from backend.agents.models import Agent
from backend.agents.schemas import AgentOut
from backend.auth.dependencies import StaffDep
from backend.auth.passwords import verify_password
from backend.auth.policy import public
from backend.auth.tokens import issue_staff_token
from backend.core.dependencies import SessionDep, SettingsDep
from backend.core.errors import error_response
from backend.core.ratelimit import RATE_LIMITED, RateLimiterDep, client_ip, enforce
from backend.core.text import Text

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


class SignInForm(OAuth2PasswordRequestForm):
    """The OAuth2 password form with every field `Text`: a NUL in the email would reach the database (where
    PostgreSQL refuses it, a 500) and one in the password bcrypt (which refuses it too)."""

    def __init__(
        self,
        *,
        grant_type: Annotated[Text | None, Form(pattern="^password$")] = None,
        username: Annotated[Text, Form(description="The staff member's email.")],
        password: Annotated[Text, Form(json_schema_extra={"format": "password"})],
        scope: Annotated[Text, Form()] = "",
        client_id: Annotated[Text | None, Form()] = None,
        client_secret: Annotated[Text | None, Form(json_schema_extra={"format": "password"})] = None,
    ) -> None:
        super().__init__(
            grant_type=grant_type,
            username=username,
            password=password,
            scope=scope,
            client_id=client_id,
            client_secret=client_secret,
        )


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int
    agent: AgentOut


@router.post(
    "/token",
    response_model=TokenOut,
    responses={**RATE_LIMITED, **error_response(401, "Wrong email or password.")},
)
@public
async def sign_in(
    form: Annotated[SignInForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    limiter: RateLimiterDep,
    request: Request,
) -> TokenOut:
    """Exchange a staff email and password for a bearer token.

    Attempts are limited per client address, and failed ones per email: guessing passwords gets a 429.
    """
    email = form.username.strip().lower()
    await enforce(limiter, ("logins_per_ip", client_ip(request)))
    account = hashlib.sha256(email.encode()).hexdigest()  # the counter's key names no one (Redis)
    locked = await limiter.peek("failed_logins_per_account", account)
    if locked is not None:
        raise locked.http()
    query = select(Agent).where(func.lower(Agent.email) == email)
    agent = (await session.execute(query)).scalar_one_or_none()
    if not verify_password(form.password, agent.password_hash if agent else None) or agent is None:
        await limiter.hit("failed_logins_per_account", account)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong email or password")
    token = issue_staff_token(agent.id, agent.role, settings.secret_key, settings.staff_token_ttl_s)
    return TokenOut(
        access_token=token, expires_in=settings.staff_token_ttl_s, agent=AgentOut.model_validate(agent)
    )


@router.get("/me", response_model=AgentOut)
async def me(agent: StaffDep) -> AgentOut:
    return AgentOut.model_validate(agent)
