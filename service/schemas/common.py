"""Shared response pieces: a code with its Chinese label, and pages."""
from __future__ import annotations

from typing import Generic, TypeVar

from pydantic import BaseModel

T = TypeVar("T")


class Coded(BaseModel):
    """A code and its Chinese label, e.g. {"code": "consult", "label": "咨询"}."""

    code: str
    label: str | None = None


class Page(BaseModel, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    limit: int
