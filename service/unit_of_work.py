"""One unit of work: a session (one transaction) and the effects that run once it has committed.

The three edges each open one: a request (`service.db.get_session`), a job and a CLI command
(`service.db.unit()` in workers/jobs.py and service/cli.py). What was appended inside a savepoint that rolls back
is dropped with it.. Pipeline code changes rows through the session and appends typed effects
(`uow.add(RouteNewTickets())`); it never commits. The edge commits; `commit()` then runs the effects (see
service/effects.py). A rollback or a close without commit drops them.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

from service.effects import Effect, run_all


@dataclass(frozen=True)
class Transition:
    """A status change made in this unit, for the stages that react to one (the 帮企云 status push)."""

    ticket_id: int
    kind: str


class UnitOfWork(Session):
    """A session that also carries what must happen after its commit."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.effects: list[Effect] = []
        self.transitions: list[Transition] = []
        self.hold_effects = False  # an edge on the event loop runs them itself (service.db.async_unit)
        self._held: list[Effect] = []
        self._savepoints: dict[SessionTransaction, tuple[int, int]] = {}

    def add_effect(self, *effects: Effect) -> None:
        """Run these after the commit (each distinct effect once)."""
        self.effects.extend(effects)

    def commit(self) -> None:
        """Commit, then run the effects collected so far (or hold them for an edge on the event loop); a failing
        effect never undoes the commit."""
        super().commit()
        effects, self.effects = self.effects, []
        self.transitions.clear()
        self._savepoints.clear()
        if self.hold_effects:
            self._held.extend(effects)
        else:
            run_all(effects)

    def take_held(self) -> list[Effect]:
        """The effects of the commits so far, for the edge to run (hold_effects)."""
        held, self._held = self._held, []
        return held

    def rollback(self) -> None:
        self._drop()
        super().rollback()

    def close(self) -> None:
        self._drop()
        super().close()

    def _drop(self) -> None:
        self.effects.clear()
        self.transitions.clear()
        self._savepoints.clear()


@event.listens_for(UnitOfWork, "after_transaction_create")
def _savepoint_begun(uow: UnitOfWork, transaction: SessionTransaction) -> None:
    if transaction.nested:
        uow._savepoints[transaction] = (len(uow.effects), len(uow.transitions))


@event.listens_for(UnitOfWork, "after_soft_rollback")
def _savepoint_rolled_back(uow: UnitOfWork, previous: SessionTransaction) -> None:
    """A savepoint rolled back: what was appended inside it goes too (the rows it wrote are gone)."""
    mark = uow._savepoints.pop(previous, None)
    if mark is not None:
        del uow.effects[mark[0]:]
        del uow.transitions[mark[1]:]

