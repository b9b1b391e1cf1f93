"""Signed tokens (JWT, HS256): staff tokens name an agent; widget tokens are bound to one conversation."""

import hashlib
import hmac
from datetime import timedelta

import jwt

from backend.core.database import utcnow

ALGORITHM = "HS256"


class InvalidToken(Exception):
    pass


def issue_staff_token(agent_id: int, role: str, secret: str, ttl_s: int) -> str:
    now = utcnow()
    claims = {
        "sub": str(agent_id),
        "role": role,
        "typ": "staff",
        "iat": now,
        "exp": now + timedelta(seconds=ttl_s),
    }
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def agent_of_staff_token(token: str, secret: str) -> int:
    claims = _decode(token, secret, "staff")
    try:
        return int(claims["sub"])
    except ValueError as exc:
        raise InvalidToken("malformed subject") from exc


def customer_hash(email: str, secret: str) -> str:
    """What the host site's server computes to vouch for its logged-in shopper (identity verification)."""
    return hmac.new(secret.encode(), email.strip().lower().encode(), hashlib.sha256).hexdigest()


def verify_customer_hash(email: str, claimed: str, secret: str) -> bool:
    # Bytes, not str: compare_digest refuses non-ASCII strings with a TypeError (a 500 on a forged hash).
    return hmac.compare_digest(customer_hash(email, secret).encode(), claimed.encode())


def issue_widget_token(conversation_id: str, secret: str, ttl_s: int) -> str:
    now = utcnow()
    claims = {"sub": conversation_id, "typ": "widget", "iat": now, "exp": now + timedelta(seconds=ttl_s)}
    return jwt.encode(claims, secret, algorithm=ALGORITHM)


def conversation_of_widget_token(token: str, secret: str) -> str:
    return str(_decode(token, secret, "widget")["sub"])


def _decode(token: str, secret: str, kind: str) -> dict[str, object]:
    try:
        claims = jwt.decode(token, secret, algorithms=[ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise InvalidToken(str(exc)) from exc
    if claims.get("typ") != kind:
        raise InvalidToken(f"not a {kind} token")
    return claims
