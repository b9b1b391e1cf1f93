"""Rate limits per widget conversation, per client IP and per staff account (pyrate-limiter, GCRA).

Each rule is a rate such as "20/minute": that many requests at once, refilled evenly over the period
(GCRA, a token bucket kept as one timestamp per key). Counters live in this worker's memory unless
REDIS_URL is set; then they live in Redis (one small hash per key that expires on its own), so every
backend worker behind a load balancer enforces the same budget. A refusal says which limit was hit and
when to retry (the HTTP answer is 429 with Retry-After; the widget socket sends an error frame).
If Redis cannot be reached the request is let through and a warning logged: an outage of the limiter
must not stop customers from being answered.
"""

import logging
from collections import OrderedDict
from dataclasses import dataclass
from inspect import isawaitable
from math import ceil
from typing import Annotated, Literal

from fastapi import Depends, HTTPException, Request, status
from pyrate_limiter import GCRA, InMemoryStateStore, Rate, RateItem, RedisStateStore, StateBucket
from redis.asyncio import Redis
from redis.exceptions import RedisError

from backend.core.config import Settings
from backend.core.errors import ErrorOut
from backend.core.metrics import RATE_LIMIT_REFUSALS
from backend.core.rates import parse_rate

log = logging.getLogger(__name__)

Rule = Literal[
    "sessions_per_ip",
    "messages_per_conversation",
    "messages_per_ip",
    "logins_per_ip",
    "failed_logins_per_account",
]
# What the client is told it did too often, per rule.
TOO_MANY: dict[Rule, str] = {
    "sessions_per_ip": "too many new chat sessions from this address",
    "messages_per_conversation": "too many messages in this conversation",
    "messages_per_ip": "too many messages from this address",
    "logins_per_ip": "too many sign-in attempts from this address",
    "failed_logins_per_account": "too many failed sign-ins for this account",
}
# In-memory mode keeps this many keys; the least recently used are forgotten first (bounded memory).
MAX_MEMORY_KEYS = 100_000
REDIS_PREFIX = "supportdesk:ratelimit"


RATE_LIMITED = {
    429: {
        "model": ErrorOut,
        "description": "Rate limit reached; retry after the number of seconds in Retry-After.",
        "headers": {"Retry-After": {"description": "Seconds to wait", "schema": {"type": "integer"}}},
    }
}


@dataclass(frozen=True)
class Refusal:
    rule: Rule
    retry_after_s: int

    @property
    def detail(self) -> str:
        return f"{TOO_MANY[self.rule]}; try again in {self.retry_after_s} s"

    def http(self) -> HTTPException:
        return HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS, self.detail, headers={"Retry-After": str(self.retry_after_s)}
        )


class RateLimiter:
    """The app's limits; `redis` None keeps the counters in memory."""

    def __init__(self, rates: dict[Rule, Rate], redis: Redis | None = None, enabled: bool = True) -> None:
        self.rates = rates
        self.redis = redis
        self.enabled = enabled
        self.algorithm = GCRA()
        self._memory: OrderedDict[str, StateBucket] = OrderedDict()

    async def hit(self, rule: Rule, key: str) -> Refusal | None:
        """Spend one unit of `rule` for `key`; the refusal if the budget is spent."""
        if not self.enabled:
            return None
        bucket = self._bucket(rule, key)
        try:
            decision = bucket.put_decision(RateItem(rule, bucket.now()))
            if isawaitable(decision):
                decision = await decision
        except RedisError as exc:
            log.warning("rate limiter unavailable, letting %s through: %s", rule, exc)
            return None
        if decision.allowed:
            return None
        return self._refusal(rule, decision.retry_after_ms)

    async def peek(self, rule: Rule, key: str) -> Refusal | None:
        """Whether the next hit would be refused, without spending anything (failed sign-ins)."""
        if not self.enabled:
            return None
        bucket = self._bucket(rule, key)
        rates = bucket.rates
        try:
            state = bucket.store.read(self.algorithm, rates)
            if isawaitable(state):
                state = await state
        except RedisError as exc:
            log.warning("rate limiter unavailable, letting %s through: %s", rule, exc)
            return None
        _, decision = self.algorithm.step(rates, state, bucket.now(), 1)
        return None if decision.allowed else self._refusal(rule, decision.retry_after_ms)

    def _refusal(self, rule: Rule, retry_after_ms: int | None) -> Refusal:
        wait_ms = retry_after_ms if retry_after_ms is not None else self.rates[rule].interval
        RATE_LIMIT_REFUSALS.labels(rule).inc()
        return Refusal(rule, max(1, ceil(wait_ms / 1000)))

    def _bucket(self, rule: Rule, key: str) -> StateBucket:
        name = f"{rule}:{key}"
        if self.redis is not None:
            store = RedisStateStore(self.redis, f"{REDIS_PREFIX}:{name}")
            return StateBucket([self.rates[rule]], self.algorithm, store)
        bucket = self._memory.get(name)
        if bucket is None:
            bucket = StateBucket([self.rates[rule]], self.algorithm, InMemoryStateStore())
            self._memory[name] = bucket
            if len(self._memory) > MAX_MEMORY_KEYS:
                self._memory.popitem(last=False)
        else:
            self._memory.move_to_end(name)
        return bucket

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()


def rate_limiter_for(settings: Settings) -> RateLimiter:
    rates: dict[Rule, Rate] = {
        "sessions_per_ip": parse_rate(settings.rate_limit_sessions_per_ip),
        "messages_per_conversation": parse_rate(settings.rate_limit_messages_per_conversation),
        "messages_per_ip": parse_rate(settings.rate_limit_messages_per_ip),
        "logins_per_ip": parse_rate(settings.rate_limit_logins_per_ip),
        "failed_logins_per_account": parse_rate(settings.rate_limit_failed_logins_per_account),
    }
    redis = Redis.from_url(settings.redis_url) if settings.redis_url else None
    return RateLimiter(rates, redis, settings.rate_limits_enabled)


async def get_rate_limiter(request: Request) -> RateLimiter:
    return request.app.state.rate_limiter


RateLimiterDep = Annotated[RateLimiter, Depends(get_rate_limiter)]


def client_ip(request: Request) -> str:
    """The caller's address. Behind a reverse proxy, run uvicorn with --proxy-headers and
    --forwarded-allow-ips so this is the customer's address from X-Forwarded-For, not the proxy's."""
    return request.client.host if request.client else "unknown"


async def enforce(limiter: RateLimiter, *checks: tuple[Rule, str]) -> None:
    """Spend one unit of each (rule, key); raise 429 at the first refusal."""
    for rule, key in checks:
        refusal = await limiter.hit(rule, key)
        if refusal is not None:
            raise refusal.http()
