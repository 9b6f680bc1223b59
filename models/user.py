"""People who use the system; a handler is bound to one unit."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Identity, String, func
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base, coded
from models.enums import Role


class User(Base):
    __tablename__ = "app_user"
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(100))
    role: Mapped[Role] = mapped_column(coded(Role, 16))
    unit_code: Mapped[str | None] = mapped_column(ForeignKey("unit.code"))
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
