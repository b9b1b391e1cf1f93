"""Password hashing with bcrypt (salted, deliberately slow)."""

from functools import cache

import bcrypt

# bcrypt only reads the first 72 bytes; longer passwords are refused rather than silently truncated.
MAX_PASSWORD_BYTES = 72


def hash_password(password: str) -> str:
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        raise ValueError(f"passwords are limited to {MAX_PASSWORD_BYTES} bytes")
    return bcrypt.hashpw(encoded, bcrypt.gensalt()).decode()


def verify_password(password: str, hashed: str | None) -> bool:
    """`hashed` None (no such account) still costs one bcrypt check, so the answer time does not tell
    an attacker which emails have accounts."""
    encoded = password.encode()
    if len(encoded) > MAX_PASSWORD_BYTES:
        return False
    if hashed is None:
        bcrypt.checkpw(encoded, _stand_in_hash())
        return False
    return bcrypt.checkpw(encoded, hashed.encode())


@cache
def _stand_in_hash() -> bytes:
    return bcrypt.hashpw(b"no account has this password", bcrypt.gensalt())
