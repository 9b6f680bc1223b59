"""Users, password hashing and bearer tokens."""
from __future__ import annotations

import hashlib
import secrets
import time

import bcrypt
import jwt
from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Role, Unit, User
from service.config import get_settings
from service.errors import Conflict, ServiceUnavailable, Unauthorized, field_error, unknown_code
from service.domain.bounds import is_id

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
        raise field_error("unit", "a handler must be bound to a unit", zh="承办人须绑定一个单位")
    if unit_code and session.get(Unit, unit_code) is None:
        raise unknown_code("unit", "units", unit_code)
    check_password_length(password)
    if session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict(f"username {username!r} is taken")
    user = User(username=username, password_hash=hash_password(password), role=role.value, unit_code=unit_code,
                display_name=display_name or username)
    session.add(user)
    session.flush()
    return user


def check_password_length(password: str, field: str = "password") -> None:
    """6 to 72 bytes: bcrypt reads no further than 72."""
    if len(password.encode()) > 72 or len(password) < 6:
        raise field_error(field, "must be 6 to 72 bytes long", zh="密码须为 6 到 72 字节", code="password_length")


def set_password(session: Session, user: User, password: str, field: str = "password") -> None:
    """Give the user a new password; tokens issued before stop working (see password_stamp)."""
    check_password_length(password, field)
    user.password_hash = hash_password(password)
    session.flush()
    forget_user(user.id)


def new_password() -> str:
    """A random password for a reset: 12 characters a person can read out and type."""
    alphabet = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(secrets.choice(alphabet) for _ in range(12))


def set_active(session: Session, user: User, active: bool) -> None:
    """Deactivate or reactivate a user: a deactivated user cannot log in and its tokens stop working."""
    user.active = active
    session.flush()
    forget_user(user.id)


def password_stamp(user: User) -> str:
    """A short fingerprint of the password hash, carried in tokens: a token from before a password change
    no longer matches and is refused."""
    return hashlib.sha256(user.password_hash.encode()).hexdigest()[:12]


_dummy_hashes: dict[int, str] = {}  # bcrypt cost -> the hash of a random password


def _dummy_hash() -> str:
    """A hash of the configured cost that no password matches: checked for unknown usernames."""
    rounds = get_settings().bcrypt_rounds
    if rounds not in _dummy_hashes:
        _dummy_hashes[rounds] = bcrypt.hashpw(secrets.token_bytes(32), bcrypt.gensalt(rounds=rounds)).decode()
    return _dummy_hashes[rounds]


def authenticate(session: Session, username: str, password: str) -> User:
    """The active user with these credentials, or Unauthorized.

    Exactly one bcrypt check whether the user exists, is inactive or not: the answer's timing tells nothing."""
    user = session.scalar(select(User).where(User.username == username))
    matches = verify_password(password, user.password_hash if user is not None else _dummy_hash())
    if user is None or not user.active or not matches:
        raise Unauthorized("wrong username or password")
    return user


def _secret_key() -> str:
    key = get_settings().secret_key
    if not key:  # api/worker/scheduler refuse to start without one; this covers any other way in
        raise ServiceUnavailable("HOTLINE_SECRET_KEY is not set")
    return key


def issue_token(user: User) -> tuple[str, int]:
    """A signed bearer token for user and its lifetime in seconds."""
    settings = get_settings()
    ttl = min(settings.token_ttl_minutes, settings.token_max_lifetime_minutes) * 60
    now = int(time.time())
    payload = {"sub": user.username, "uid": user.id, "role": user.role, "unit": user.unit_code,
               "pwd": password_stamp(user), "iat": now, "exp": now + ttl}
    return jwt.encode(payload, _secret_key(), algorithm=ALGORITHM), ttl


# token -> ((the key and maximum lifetime that checked it), the instant it stops being valid, its claims)
_checked: dict[str, tuple[tuple[str, int], float, dict]] = {}
CHECKED_TOKENS_MAX = 10_000
# A token may say it was issued this far in the future: API processes on other hosts have other clocks.
IAT_LEEWAY_SECONDS = 60


def token_payload(token: str) -> dict:
    """The claims of a valid token, or Unauthorized.

    A token seen before with the same key is not checked again (its signature cannot have changed), only its
    expiry: checking the signature and claims costs more than the rest of a small request's authentication.
    Whatever `exp` says, a token lives token_max_lifetime_minutes after its `iat` at most."""
    settings = get_settings()
    checked_with = (_secret_key_or_refuse(settings.secret_key), settings.token_max_lifetime_minutes * 60)
    hit = _checked.get(token)
    if hit is not None and hit[0] == checked_with and time.time() < hit[1]:
        return hit[2]
    try:
        payload = jwt.decode(token, checked_with[0], algorithms=[ALGORITHM],
                             options={"require": ["exp", "iat"], "verify_iat": False})
    except jwt.ExpiredSignatureError:
        _checked.pop(token, None)
        raise Unauthorized("token expired; log in again") from None
    except jwt.InvalidTokenError:
        raise Unauthorized("invalid token") from None
    until = _valid_until(payload, checked_with[1])
    if len(_checked) >= CHECKED_TOKENS_MAX:
        _checked.clear()
    _checked[token] = (checked_with, until, payload)
    return payload


def _secret_key_or_refuse(key: str | None) -> str:
    if not key:  # an empty HMAC key would accept tokens anyone can sign
        raise Unauthorized("invalid token")
    return key


def _valid_until(payload: dict, max_lifetime: int) -> float:
    """When a signed, unexpired token stops being valid: at `exp`, or max_lifetime after `iat` if sooner."""
    try:
        iat, exp = int(payload["iat"]), int(payload["exp"])
    except (TypeError, ValueError, OverflowError):
        raise Unauthorized("invalid token") from None
    now = time.time()
    if iat > now + IAT_LEEWAY_SECONDS:
        raise Unauthorized("invalid token")
    if exp - iat > max_lifetime:
        raise Unauthorized("token lifetime over the maximum; log in again")
    until = min(exp, iat + max_lifetime)
    if now >= until:
        raise Unauthorized("token expired; log in again")
    return until


_users: dict[int, tuple[float, User]] = {}


def cached_user(user_id: int | None) -> User | None:
    """The user as read less than user_cache_seconds ago, or None.

    A detached, fully loaded object shared by concurrent requests: read it, never change it (users are changed
    through a row read in the request's own session)."""
    hit = _users.get(user_id) if is_id(user_id) else None  # a signed `uid` may still be a list, a string...
    if hit is not None and time.monotonic() - hit[0] < get_settings().user_cache_seconds:
        return hit[1]
    return None


def forget_user(user_id: int) -> None:
    """Drop this process's cached copy of a changed user (other processes re-read it within user_cache_seconds)."""
    _users.pop(user_id, None)


def load_user(user_id: int | None) -> User | None:
    """Read the user row in a session of its own, detached (and cache it: a deactivation takes effect within
    user_cache_seconds)."""
    if not is_id(user_id):  # not an int, or beyond bigint: no such user (and no query to ask)
        return None
    from service.db import session_factory

    with session_factory()() as session:
        user = session.get(User, user_id)
        if user is not None:
            session.expunge(user)
    if user is not None and get_settings().user_cache_seconds > 0:
        _users[user_id] = (time.monotonic(), user)
    return user
