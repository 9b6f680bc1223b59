"""The SLA table says, per urgency, which limits run around the clock (特急 签收)."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from models import Ticket
from service.pipeline import sla
from service.pipeline.actions import set_deadlines

SH = ZoneInfo("Asia/Shanghai")


def _deadlines(urgency: str, accept_hours: float, at: datetime) -> Ticket:
    ticket = Ticket(urgency=urgency, assigned_at=at, accept_hours=accept_hours, resolve_days=0, resolve_from_at=at)
    set_deadlines(ticket)
    return ticket


def test_a_critical_outage_at_night_must_be_signed_for_within_its_15_minutes():
    night = datetime(2026, 12, 2, 3, 15, tzinfo=SH)  # a Wednesday
    ticket = _deadlines("critical", 0.25, night)     # rule critical-power-outage: "15 分钟内签收"
    assert ticket.accept_due_at == datetime(2026, 12, 2, 3, 30, tzinfo=SH)
    assert ticket.resolve_due_at == datetime(2026, 12, 2, 17, 30, tzinfo=SH)  # 当日办结: the same working day
    saturday = _deadlines("critical", 0.5, datetime(2026, 12, 5, 23, 50, tzinfo=SH))
    assert saturday.accept_due_at == datetime(2026, 12, 6, 0, 20, tzinfo=SH)
    assert saturday.resolve_due_at == datetime(2026, 12, 7, 17, 30, tzinfo=SH)  # 办结 waits for Monday


def test_other_urgencies_keep_office_hours():
    ticket = _deadlines("normal", 0.25, datetime(2026, 12, 2, 3, 15, tzinfo=SH))
    assert ticket.accept_due_at == datetime(2026, 12, 2, 8, 45, tzinfo=SH)
    table = sla.sla_table()
    assert table.runs_around_the_clock("critical", "accept_hours")
    assert not table.runs_around_the_clock("critical", "resolve_days")
    assert not table.runs_around_the_clock("urgent", "accept_hours")
    assert "around_the_clock" not in table.by_urgency["critical"]  # not a limit: limits() never sees it


@pytest.mark.parametrize("value", ["[resolve_days]", "accept_hours", "[accept_hour]"])
def test_the_table_refuses_what_it_cannot_count_around_the_clock(tmp_path, value):
    path = tmp_path / "sla.yaml"
    path.write_text("version: t\ndefaults: {accept_hours: 4, resolve_days: 5}\n"
                    f"by_urgency:\n  critical: {{accept_hours: 0.5, around_the_clock: {value}}}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="around_the_clock"):
        sla.load_sla(path)
