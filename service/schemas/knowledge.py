"""Request and response models of the knowledge base (知识库): articles and reply templates."""
from __future__ import annotations

from datetime import date
from typing import Annotated

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints

from models import ArticleKind
from service.domain.bounds import FIRST_DAY, LAST_DAY
from service.domain.reference import lookup_code, lookup_enum
from service.errors import FieldProblem
from service.schemas.common import Coded, Instant
from service.schemas.ticket import CategoryCode, UnitRef, check_code

# The largest version number an entry can reach (the column is an integer).
MAX_VERSION = 2**31 - 1


def _in_calendar(value: date | None) -> date | None:
    if value is not None and not FIRST_DAY <= value <= LAST_DAY:
        raise FieldProblem(f"must lie between {FIRST_DAY} and {LAST_DAY}",
                           zh=f"日期须在 {FIRST_DAY} 与 {LAST_DAY} 之间", code="date_out_of_range")
    return value


Day = Annotated[date, AfterValidator(_in_calendar)]
UnitCode = Annotated[str, BeforeValidator(lambda v: lookup_code("units", v)),
                     AfterValidator(lambda v: check_code("units", v))]
Tag = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]


class ArticleIn(BaseModel):
    """An article (知识) or a unit's reply template (答复模板)."""

    model_config = ConfigDict(extra="forbid")
    kind: Annotated[ArticleKind, BeforeValidator(lambda v: lookup_enum(ArticleKind, v))] = ArticleKind.ARTICLE
    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=200)]
    body: Annotated[str, StringConstraints(strip_whitespace=True, min_length=2, max_length=20000)]
    category: CategoryCode | None = None
    tags: list[Tag] = Field(default_factory=list, max_length=20)
    owner_unit: UnitCode | None = Field(None, description=(
        "the unit that keeps the entry: its handlers may edit it; a handler's own unit when omitted; required "
        "for a reply template"))
    valid_from: Day | None = Field(None, description="in force from this day")
    valid_until: Day | None = Field(None, description="in force until this day; after it the entry is stale "
                                                       "(已过有效期)")
    review_by: Day | None = Field(None, description="to be reviewed by this day; after it the entry is stale "
                                                     "(已超过复核日期) until edited")


class ArticleUpdate(ArticleIn):
    """The whole new content of an entry, and the version it replaces (409 when another edit came first)."""

    version: int = Field(ge=1, le=MAX_VERSION, description="the version the editor started from")


class ArticleContent(BaseModel):
    """What an entry says, as every version of it holds it."""

    kind: Coded
    title: str
    body: str
    category: Coded | None
    tags: list[str]
    owner_unit: UnitRef | None
    valid_from: date | None
    valid_until: date | None
    review_by: date | None


class ArticleOut(ArticleContent):
    id: int
    version: int
    stale: bool = Field(description="past its valid_until or its review_by: never suggested, never citable")
    stale_reason: str | None = Field(description="已过有效期 or 已超过复核日期")
    updated_at: Instant
    updated_by: str


class ArticleVersionOut(ArticleContent):
    """One version of an entry as it was written."""

    version: int
    edited_at: Instant
    edited_by: str


class SuggestIn(BaseModel):
    """A ticket's text, to find the articles that answer it."""

    model_config = ConfigDict(extra="forbid")
    title: str = Field("", max_length=200, description="the ticket's title")
    description: str = Field("", max_length=20000, description="the ticket's description")
    category: CategoryCode | None = None
    limit: int = Field(3, ge=1, le=10)


class SuggestionOut(BaseModel):
    article: ArticleOut
    score: float = Field(description="how well the article matches: title hits count three times body hits, rare "
                                     "words more than common ones; a category match multiplies it by 1.5")
