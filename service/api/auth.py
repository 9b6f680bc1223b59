"""Log in, who am I, and user administration."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import OAuth2PasswordRequestForm
from sqlalchemy import select

from models import Role, User
from service.api import login_limit
from service.api.deps import CurrentUser, require
from service.api.openapi import errors
from service.db import SessionDep
from service.errors import Unauthorized
from service.domain.reference import reference
from service.security.users import authenticate, create_user, issue_token
from service.schemas.user import TokenOut, UserCreate, UserOut

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
