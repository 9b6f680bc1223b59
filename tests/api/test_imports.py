"""Uploads that could burn CPU or memory are refused before any work; large imports run as a job."""
from __future__ import annotations

import time
import tracemalloc
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select, text

from models import Role, Ticket
from service import db
from tests.factories import login, make_uscc
from tests.support import xlsx
from workers import jobs
from service import queues

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _upload(client, headers, content: bytes, **form):
    return client.post("/api/v1/imports/tickets", files={"file": ("台账.xlsx", content, XLSX)}, data=form,
                       headers=headers)


def _tickets() -> int:
    with db.session_factory()() as s:
        return s.scalar(select(func.count()).select_from(Ticket))


def _sequence() -> int:
    """The next ticket number's sequence value: an import that creates and rolls back still moves it."""
    with db.session_factory()() as s:
        return s.execute(text("SELECT last_value + is_called::int FROM ticket_number_seq")).scalar()


def _table(n: int, *, first: int = 300) -> list[str]:
    return [xlsx.row(1, xlsx.HEADER)] + [xlsx.row(i + 2, xlsx.ticket_values(i, make_uscc(first + i)))
                                         for i in range(n)]


def _refused(r, *words: str) -> str:
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["field"] == "file", detail
    for word in words:
        assert word in detail[0]["message"], detail
    return detail[0]["message"]


def test_a_huge_declared_dimension_is_never_walked(client):
    op = login(client, "op")
    # 5 KB that declare A1:XFD60000: a value in the last column of row 60000 is refused at once (a column limit) ...
    content = xlsx.workbook(xlsx.sheet(_table(2) + [xlsx.row(60000, ["x"], first_column=16384)], "A1:XFD60000"))
    assert len(content) < 5000
    started = time.perf_counter()
    _refused(_upload(client, op, content, dry_run="true"), "XFD60000", "HOTLINE_IMPORT_MAX_COLUMNS")
    assert time.perf_counter() - started < 1
    # ... and a sheet that only declares it is read by what it holds: the gap of empty rows costs nothing.
    content = xlsx.workbook(xlsx.sheet(_table(2) + [xlsx.row(60000, ["x"])], "A1:XFD60000"))
    started = time.perf_counter()
    r = _upload(client, op, content)
    assert time.perf_counter() - started < 1
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["rows"], body["created"]) == (3, 2) and {x["row"] for x in body["rejected"]} == {60000}


def test_too_many_rows_are_refused_before_a_ticket_is_created(client, override_settings):
    op = login(client, "op")
    # The dimension claims two rows; the sheet holds one more than the limit allows.
    content = xlsx.workbook(xlsx.sheet(_table(5001), "A1:H2"))
    before = _sequence()
    started = time.perf_counter()
    _refused(_upload(client, op, content), "more than 5000 rows", "HOTLINE_IMPORT_MAX_ROWS")
    assert time.perf_counter() - started < 3
    assert _tickets() == 0 and _sequence() == before  # not created and rolled back: never created


def test_a_huge_shared_string_is_refused_without_being_read(client):
    op = login(client, "op")
    sheet = xlsx.sheet([xlsx.row(1, xlsx.HEADER), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>'])
    # 40 MiB of one string, 40 KB on disk: refused by the size the zip directory declares, before inflating it.
    huge = xlsx.workbook(sheet, big={"xl/sharedStrings.xml": (
        f'<sst xmlns="{xlsx.MAIN}"><si><t>'.encode(), b"a" * (1 << 20), b"</t></si></sst>", 40)})
    # 1 MB in one string: within the part limit, refused once it passes Excel's 32,767 characters per cell.
    long = xlsx.workbook(sheet, strings=xlsx.shared_strings("b" * 1_000_000))
    assert len(huge) < 200_000 and len(long) < 20_000
    for content, words in ((huge, ("sharedStrings.xml", "HOTLINE_IMPORT_MAX_XML_BYTES")),
                           (long, ("32767 characters", "HOTLINE_IMPORT_MAX_CELL_CHARS"))):
        tracemalloc.start()
        try:
            started = time.perf_counter()
            r = _upload(client, op, content, dry_run="true")
            elapsed = time.perf_counter() - started
            peak = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        _refused(r, *words)
        assert elapsed < 2 and peak < 8 * 1024 * 1024, (elapsed, peak)


def test_a_zip_bomb_sheet_is_refused_before_it_is_inflated(client):
    op = login(client, "op")
    bomb = xlsx.workbook(None, big={"xl/worksheets/sheet1.xml": (
        f'<worksheet xmlns="{xlsx.MAIN}"><sheetData>'.encode(), b" " * (1 << 20), b"</sheetData></worksheet>", 64)})
    assert len(bomb) < 400_000
    started = time.perf_counter()
    _refused(_upload(client, op, bomb), "sheet1.xml", "HOTLINE_IMPORT_MAX_XML_BYTES")
    assert time.perf_counter() - started < 1


@pytest.mark.parametrize("content, words", [
    (xlsx.workbook(xlsx.sheet(_table(1))[:-30]), ("sheet1.xml", "not well-formed")),
    (xlsx.workbook(xlsx.sheet(_table(1)).replace("<row r=\"2\">", "<row r=\"2\"><c>")), ("not well-formed",)),
    (xlsx.workbook(xlsx.sheet([xlsx.row(1, xlsx.HEADER), '<row r="2"><c r="A2" t="s"><v>0</v></c></row>']),
                   strings='<sst xmlns="x"><si><t>a</si></sst>'), ("sharedStrings.xml", "not well-formed")),
    (xlsx.workbook('<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>'
                   f'<worksheet xmlns="{xlsx.MAIN}"><sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&b;</t></is>'
                   '</c></row></sheetData></worksheet>'), ("DTD",)),
    (xlsx.workbook(xlsx.sheet(_table(1)), with_workbook=False), ("no workbook",)),
    (xlsx.workbook(None), ("no worksheet",)),
    (xlsx.workbook(xlsx.sheet([xlsx.row(1, xlsx.HEADER), '<row r="2"><c r="A2" t="s"><v>7</v></c></row>']),
                   strings=xlsx.shared_strings("a")), ("shared string 7",)),
    (xlsx.workbook(xlsx.sheet([xlsx.row(1, xlsx.HEADER), '<row r="two"><c r="A2"><v>1</v></c></row>'])),
     ("row number",)),
    (b"PK\x05\x06" + b"\0" * 18, ("no workbook",)),
    (b"not a zip at all", ("not a zip",)),
])
def test_broken_workbooks_answer_422_naming_the_file(client, content, words):
    r = _upload(client, login(client, "op"), content)
    _refused(r, *words)
    assert _tickets() == 0


def test_a_large_import_runs_as_a_job_and_its_report_is_kept(client, run_jobs, override_settings):
    override_settings(import_sync_max_rows=2)
    op, other, admin = login(client, "op"), login(client, "op2"), login(client, "root", Role.ADMIN)
    rows = _table(3) + [xlsx.row(5, ["坏行有限公司", "91330382MA2AB1C2D0", "李四", "13900000001", "柳市镇", "求助", "标题",
                                      "内容"])]
    content = xlsx.workbook(xlsx.sheet(rows))

    dry = _upload(client, op, content, dry_run="true")
    assert dry.status_code == 202, dry.text
    run_jobs()
    report = client.get(dry.json()["status_url"], headers=op).json()["report"]
    assert (report["dry_run"], report["created"]) == (True, 3) and _tickets() == 0

    r = _upload(client, op, content, channel="liangwan")
    assert r.status_code == 202, r.text
    job = r.json()
    assert (job["status"], job["rows"], job["report"]) == ({"code": "queued", "label": "排队中"}, 4, None)
    assert r.headers["location"] == job["status_url"] == f"/api/v1/imports/{job['id']}"
    assert _tickets() == 0  # nothing happens in the request
    # The worker died holding the job (left `running`) and Redis lost it: the stale sweep enqueues it again.
    queues.queue(queues.DEFAULT).empty()
    with db.session_factory()() as s:
        s.execute(text("UPDATE import_job SET status = 'running', attempts = 1, "
                       "started_at = now() - interval '2 hours' WHERE id = :id"), {"id": job["id"]})
        s.commit()
    assert jobs.requeue_stale_imports() == {"enqueued": 1}
    run_jobs()
    done = client.get(job["status_url"], headers=op).json()
    assert done["status"]["code"] == "done" and done["finished_at"], done
    report = done["report"]
    assert (report["rows"], report["created"], report["duplicates"], report["dry_run"]) == (4, 3, 0, False)
    assert [(r["row"], r["field"]) for r in report["rejected"]] == [(5, "enterprise.uscc")]
    assert report["rejected"][0]["message"] and report["rejected"][0]["message_zh"]
    assert client.get(job["status_url"], headers=admin).status_code == 200
    assert client.get(job["status_url"], headers=other).status_code == 404  # not theirs
    got = client.get("/api/v1/tickets", params={"channel": "liangwan"}, headers=op).json()["items"]
    assert len(got) == 3 and {t["status"]["code"] for t in got} == {"assigned"}  # routed after the job's commit
    assert jobs.requeue_stale_imports() == {"enqueued": 0} and jobs.run_import(job["id"])["skipped"]


def test_the_answer_names_unrecognised_columns_and_the_sheets_numbers(client):
    op = login(client, "op")
    header = ["编号"] + xlsx.HEADER + ["登记日期", "备注"]
    october = [xlsx.row(1, header)] + [xlsx.row(i + 2, [i + 1] + xlsx.ticket_values(i, make_uscc(700 + i))
                                                + ["2026-10-09", "已电话联系"]) for i in range(2)]
    november = [xlsx.row(1, header)] + [xlsx.row(i + 2, [i + 1] + xlsx.ticket_values(i + 5, make_uscc(710 + i))
                                                 + ["2026-11-09", None]) for i in range(2)]
    first = _upload(client, op, xlsx.workbook(xlsx.sheet(october)))
    assert first.status_code == 200, first.text
    body = first.json()
    assert (body["created"], body["duplicates"]) == (2, 0)
    assert body["unrecognised_columns"] == [{"column": "K", "header": "备注"}]
    second = _upload(client, op, xlsx.workbook(xlsx.sheet(november))).json()
    assert (second["created"], second["duplicates"], second["rejected"]) == (2, 0, [])
    assert [t["ref"] for t in second["tickets"]] == ["1", "2"] and _tickets() == 4
    got = client.get("/api/v1/tickets", params={"q": "断电问题5"}, headers=op).json()["items"]
    assert [datetime.fromisoformat(t["received_at"]) for t in got] == \
        [datetime(2026, 11, 9, tzinfo=ZoneInfo("Asia/Shanghai"))]
