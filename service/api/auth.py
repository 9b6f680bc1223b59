"""Log in, who am I, and user administration."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from models import Role, User
from models.audit import AuditAction
from service.api import login_limit
from service.api.deps import CurrentUser, require
from service.api.openapi import errors
from service.db import SessionDep
from service.domain.audit import record
from service.errors import Conflict, NotFound, Unauthorized, field_error
from service.domain.reference import reference
from service.security.users import (authenticate, create_user, issue_token, new_password, set_active, set_password,
                                    verify_password)
from service.schemas.user import PasswordChange, PasswordReset, PasswordResetOut, TokenOut, UserCreate, UserOut

router = APIRouter(prefix="/api/v1", tags=["auth"])
Admin = Annotated[User, Depends(require(Role.ADMIN))]


def user_out(user: User) -> UserOut:
    return UserOut(id=user.id, username=user.username, display_name=user.display_name, role=user.role,
                   role_label=Role(user.role).label, unit=user.unit_code,
                   unit_name=reference().label("units", user.unit_code), active=user.active)


@router.post("/auth/token", response_model=TokenOut,
             responses=errors(401, 429, descriptions={401: "wrong username or password"}))
def token(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request, session: SessionDep) -> TokenOut:
    """OAuth2 password flow: form fields username and password; answers a bearer token.

    Too many failed logins for a username or from an address answer 429 with Retry-After."""
    address = request.client.host if request.client else None
    counted = login_limit.check(form.username, address)
    try:
        user = authenticate(session, form.username, form.password)
    except Unauthorized:
        if counted:
            login_limit.record_failure(form.username, address)
        raise
    if counted:
        login_limit.forget_failures(form.username)
    access, ttl = issue_token(user)
    return TokenOut(access_token=access, expires_in=ttl, user=user_out(user))


@router.get("/me", response_model=UserOut)
def me(user: CurrentUser) -> UserOut:
    """The logged-in user."""
    return user_out(user)


@router.get("/users", response_model=list[UserOut])
def users(session: SessionDep, _: Admin) -> list[UserOut]:
    """Every user (admin only)."""
    return [user_out(u) for u in session.scalars(select(User).order_by(User.username))]


@router.post("/users", response_model=UserOut, status_code=201, responses=errors(409))
def add_user(body: UserCreate, session: SessionDep, _: Admin) -> UserOut:
    """Add a user; handlers are bound to one unit."""
    user = create_user(session, username=body.username, password=body.password, role=body.role,
                       unit_code=body.unit, display_name=body.display_name)
    session.commit()
    return user_out(user)


@router.post("/auth/password", response_model=TokenOut, responses=errors(401))
def change_password(body: PasswordChange, session: SessionDep, caller: CurrentUser) -> TokenOut:
    """Change one's own password (the old one is asked again); answers a new token, since tokens issued
    before the change stop working."""
    user = session.get(User, caller.id)
    if user is None or not verify_password(body.old_password, user.password_hash):
        raise field_error("old_password", "wrong password", zh="原密码不正确", code="wrong_password")
    if body.new_password == body.old_password:
        raise field_error("new_password", "must differ from the old password", zh="新密码不能与原密码相同",
                          code="password_unchanged")
    set_password(session, user, body.new_password, "new_password")
    record(session, user, AuditAction.ACCOUNT, params={"op": "password_change", "username": user.username})
    session.commit()
    access, ttl = issue_token(user)
    return TokenOut(access_token=access, expires_in=ttl, user=user_out(user))


def _target(session, user_id: int) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise NotFound(f"no user {user_id}")
    return user


def _set_active(session, admin: User, user_id: int, active: bool) -> UserOut:
    user = _target(session, user_id)
    if user.id == admin.id and not active:
        raise Conflict("an admin cannot deactivate its own account")
    if user.active != active:
        set_active(session, user, active)
        record(session, admin, AuditAction.ACCOUNT,
               params={"op": "activate" if active else "deactivate", "username": user.username})
        session.commit()
    return user_out(user)


@router.post("/users/{user_id}/deactivate", response_model=UserOut, responses=errors(404, 409))
def deactivate_user(user_id: int, session: SessionDep, admin: Admin) -> UserOut:
    """Deactivate a user (admin only): it can no longer log in, and its tokens stop working (within
    HOTLINE_USER_CACHE_SECONDS in other API processes). Its tickets and audit rows stay."""
    return _set_active(session, admin, user_id, False)


@router.post("/users/{user_id}/activate", response_model=UserOut, responses=errors(404))
def activate_user(user_id: int, session: SessionDep, admin: Admin) -> UserOut:
    """Let a deactivated user log in again (admin only)."""
    return _set_active(session, admin, user_id, True)


@router.post("/users/{user_id}/password-reset", response_model=PasswordResetOut, responses=errors(404))
def reset_password(user_id: int, session: SessionDep, admin: Admin,
                   body: PasswordReset = PasswordReset()) -> PasswordResetOut:
    """Set a user's password (admin only): the one given, or a generated one answered here once. The user's
    tokens stop working."""
    user = _target(session, user_id)
    generated = new_password() if body.password is None else None
    set_password(session, user, body.password or generated)
    record(session, admin, AuditAction.ACCOUNT, params={"op": "password_reset", "username": user.username})
    session.commit()
    return PasswordResetOut(user=user_out(user), password=generated)
