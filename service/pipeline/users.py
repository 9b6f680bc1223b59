"""Users, password hashing and bearer tokens."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time

import bcrypt
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Role, Unit, User
from service.config import get_settings
from service.errors import Conflict, Unauthorized, field_error

ALGORITHM = "HS256"


def hash_password(password: str) -> str:
    """bcrypt hash (bcrypt reads at most 72 bytes, so longer passwords are refused at input)."""
    return bcrypt.hashpw(password.encode(), bcrypt.gensalt(rounds=get_settings().bcrypt_rounds)).decode()


def verify_password(password: str, hashed: str) -> bool:
    """True when password matches the stored hash."""
    try:
        return bcrypt.checkpw(password.encode(), hashed.encode())
    except ValueError:
        return False


def create_user(session: Session, *, username: str, password: str, role: Role, unit_code: str | None = None,
                display_name: str = "") -> User:
    """Add a user; a handler must name its unit, other roles may not."""
    if role == Role.HANDLER and not unit_code:
        raise field_error("unit", "a handler must be bound to a unit")
    if unit_code and session.get(Unit, unit_code) is None:
        raise field_error("unit", f"unknown unit code {unit_code!r}")
    if len(password.encode()) > 72 or len(password) < 6:
        raise field_error("password", "must be 6 to 72 bytes long")
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(username=username, password_hash=hash_password(password), role=role.value, unit_code=unit_code,
                display_name=display_name or username)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with these credentials, or Unauthorized."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise Unauthorized("wrong username or password")
    return user


def issue_token(user: User) -> tuple[str, int]:
    """A signed bearer token for user and its lifetime in seconds."""
    settings = get_settings()
    ttl = settings.token_ttl_minutes * 60
    payload = {"sub": user.username, "uid": user.id, "role": user.role, "unit": user.unit_code,
               "exp": datetime.now(UTC) + timedelta(seconds=ttl)}
    return jwt.encode(payload, settings.secret_key, algorithm=ALGORITHM), ttl


_checked: dict[str, tuple[str, dict]] = {}  # token -> (the key that checked it, its claims)
CHECKED_TOKENS_MAX = 10_000


def token_payload(token: str) -> dict:
    """The claims of a valid token, or Unauthorized.

    A token seen before with the same key is not checked again (its signature cannot have changed), only its
    expiry: checking the signature and claims costs more than the rest of a small request's authentication."""
    key = get_settings().secret_key
    hit = _checked.get(token)
    if hit is not None and hit[0] == key and time.time() < hit[1]["exp"]:
        return hit[1]
    try:
        payload = jwt.decode(token, key, algorithms=[ALGORITHM], options={"require": ["exp"]})
    except jwt.ExpiredSignatureError:
        _checked.pop(token, None)
        raise Unauthorized("token expired; log in again") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token") from None
    if len(_checked) >= CHECKED_TOKENS_MAX:
        _checked.clear()
    _checked[token] = (key, payload)
    return payload


_users: dict[int, tuple[float, User]] = {}


def cached_user(user_id: int | None) -> User | None:
    """The user as read less than user_cache_seconds ago, or None.

    A detached, fully loaded object shared by concurrent requests: read it, never change it (users are changed
    through a row read in the request's own session)."""
    hit = _users.get(user_id)
    if hit is not None and time.monotonic() - hit[0] < get_settings().user_cache_seconds:
        return hit[1]
    return None


def load_user(user_id: int | None) -> User | None:
    """Read the user row in a session of its own, detached (and cache it: a deactivation takes effect within
    user_cache_seconds)."""
    if not isinstance(user_id, int):
        return None
    from service.db import session_factory

    with session_factory()() as session:
        user = session.get(User, user_id)
        if user is not None:
            session.expunge(user)
    if user is not None and get_settings().user_cache_seconds > 0:
        _users[user_id] = (time.monotonic(), user)
    return user
