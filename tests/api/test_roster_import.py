"""Loading the city's enterprise roster from .csv or .xlsx: idempotent, every rejected row named with its reason."""
from __future__ import annotations

import json

from typer.testing import CliRunner

from models import Role
from service.cli import app as cli
from tests.factories import login, make_uscc, ticket_body
from tests.support import xlsx

HEADER = "企业名称,统一社会信用代码,所属镇街,产业链,企业梯队,是否规上\n"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _csv(*rows: str, header: str = HEADER) -> bytes:
    return (header + "".join(r + "\n" for r in rows)).encode("utf-8-sig")


def _upload(client, headers, content: bytes, filename: str = "规上企业名录.csv"):
    return client.post("/api/v1/enterprises/import", files={"file": (filename, content, "text/csv")}, headers=headers)


def _roster(client, headers) -> dict[str, dict]:
    items = client.get("/api/v1/enterprises", params={"on_roster": "true", "limit": 200}, headers=headers).json()
    return {e["name"]: e for e in items["items"]}


def test_a_roster_loads_and_loading_it_again_changes_nothing(client):
    admin = login(client, "admin", Role.ADMIN)
    content = _csv(f"乐清市正泰精工电器有限公司,{make_uscc(601)},柳市镇,电气,省级专精特新中小企业,是",
                   f"瑞安市塘下汽摩配件有限公司,{make_uscc(602)},塘下镇,汽摩配,,是",
                   "永嘉县瓯北泵阀制造有限公司,,瓯北街道,泵阀,,否")
    r = _upload(client, admin, content)
    assert r.status_code == 200, r.text
    assert r.json() == {"rows": 3, "created": 3, "updated": 0, "unchanged": 0, "rejected": []}
    again = _upload(client, admin, content).json()
    assert again == {"rows": 3, "created": 0, "updated": 0, "unchanged": 3, "rejected": []}
    roster = _roster(client, admin)
    zt = roster["乐清市正泰精工电器有限公司"]
    assert (zt["uscc"], zt["town"]["label"], zt["county"]["label"], zt["chain"], zt["tier"]["code"],
            zt["above_scale"], zt["on_roster"]) == (make_uscc(601), "柳市镇", "乐清市",
                                                    {"code": "electrical", "label": "电气"}, "provincial_sxtx", True, True)
    assert roster["永嘉县瓯北泵阀制造有限公司"]["uscc"] is None and roster["永嘉县瓯北泵阀制造有限公司"]["above_scale"] is False
    changed = _upload(client, admin, _csv(f"乐清市正泰精工电器有限公司,{make_uscc(601)},柳市镇,电气,隐形冠军企业,是")).json()
    assert (changed["updated"], changed["unchanged"]) == (1, 0)
    assert _roster(client, admin)["乐清市正泰精工电器有限公司"]["tier"]["code"] == "hidden_champion"


def test_roster_rows_join_the_records_intake_made(client):
    op, admin = login(client, "op"), login(client, "admin", Role.ADMIN)
    by_name = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "温州龙湾鞋业进出口有限公司"}),
                          headers=op).json()["enterprise"]["id"]
    by_code = client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "某鞋厂", "uscc": make_uscc(611)}),
                          headers=op).json()["enterprise"]["id"]
    report = _upload(client, admin, _csv(f"温州龙湾鞋业进出口有限责任公司,{make_uscc(610)},永中街道,鞋业,,是",
                                         f"温州市某鞋业有限公司,{make_uscc(611)},,,,是")).json()
    assert (report["created"], report["updated"]) == (0, 2)
    roster = _roster(client, admin)
    assert roster["温州龙湾鞋业进出口有限公司"]["id"] == by_name  # known by name, takes the code
    assert roster["温州龙湾鞋业进出口有限公司"]["uscc"] == make_uscc(610)
    assert roster["温州市某鞋业有限公司"]["id"] == by_code  # known by code, takes the roster's name
    assert roster["温州市某鞋业有限公司"]["town"]["code"] == "yueqing_liushi"  # a blank keeps what is known
    # An intake naming another town does not move a roster enterprise.
    client.post("/api/v1/tickets", json=ticket_body(enterprise={"name": "温州龙湾鞋业进出口有限公司"},
                                                    town="ruian_tangxia"), headers=op)
    assert _roster(client, admin)["温州龙湾鞋业进出口有限公司"]["town"]["code"] == "longwan_yongzhong"


def test_every_rejected_row_is_named_with_its_field_and_reason_and_the_others_load(client):
    admin = login(client, "admin", Role.ADMIN)
    good = make_uscc(620)
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    report = _upload(client, admin, _csv(
        f"好企业有限公司,{good},柳市镇,,,是",
        f"坏代码有限公司,{bad},柳市镇,,,是",
        ",,柳市镇,,,是",
        "未知镇企业,,火星镇,,,是",
        "规上不明企业,,柳市镇,,,也许",
        "未知链企业,,柳市镇,造飞船,,",
        f"好企业有限责任公司,{good},柳市镇,,,是",
    )).json()
    assert (report["rows"], report["created"]) == (7, 1)
    rejected = [(r["row"], r["field"], r["code"]) for r in report["rejected"]]
    assert rejected == [(3, "uscc", "uscc_check_character"), (4, "name", "missing"), (5, "town", "unknown_code"),
                        (6, "above_scale", "invalid"), (7, "chain", "unknown_code"), (8, "uscc", "duplicate_row")]
    assert all(r["message"] and r["message_zh"] for r in report["rejected"])
    assert "row 2" in report["rejected"][-1]["message"]
    again = _upload(client, admin, _csv(f"好企业有限公司,{good},柳市镇,,,是", f"好企业有限责任公司,{good},柳市镇,,,是")).json()
    assert (again["unchanged"], [r["row"] for r in again["rejected"]]) == (1, [3])


def test_xlsx_and_gb18030_csv_and_english_headers_load_and_broken_files_are_422(client):
    admin = login(client, "admin", Role.ADMIN)
    book = xlsx.workbook(xlsx.sheet([xlsx.row(1, ["企业名称", "统一社会信用代码", "所属镇街", "是否规上"]),
                                     xlsx.row(2, ["表格企业有限公司", make_uscc(630), "柳市镇", "是"])]))
    r = client.post("/api/v1/enterprises/import", files={"file": ("名录.xlsx", book, XLSX)}, headers=admin)
    assert r.status_code == 200 and r.json()["created"] == 1, r.text
    gbk = "企业名称,所属镇街\nＧＢ编码企业,柳市镇\n".encode("gb18030")
    assert _upload(client, admin, gbk).json()["created"] == 1
    english = _csv("English Header Co,,yueqing_liushi,,,true", header="name,uscc,town,chain,tier,above_scale\n")
    assert _upload(client, admin, english).json()["created"] == 1
    assert set(_roster(client, admin)) == {"表格企业有限公司", "ＧＢ编码企业", "English Header Co"}
    for content in (b"\xff\xfe\x00garbage", "名称,电话\n某公司,123\n".encode(), b"PK\x03\x04broken"):
        r = _upload(client, admin, content)
        assert r.status_code == 422 and r.json()["detail"][0]["field"] == "file", r.text
    assert _upload(client, login(client, "op"), _csv("某公司,,柳市镇,,,是")).status_code == 403


def test_the_command_loads_a_roster_file(client, tmp_path):
    admin = login(client, "admin", Role.ADMIN)
    path = tmp_path / "roster.csv"
    path.write_bytes(_csv(f"命令行企业有限公司,{make_uscc(640)},柳市镇,,,是", "坏行,,火星镇,,,是"))
    run = CliRunner().invoke(cli, ["enterprises", "import", str(path)])
    assert run.exit_code == 1, run.output  # a rejected row
    report = json.loads(run.output)
    assert (report["created"], [(r["row"], r["field"]) for r in report["rejected"]]) == (1, [(3, "town")])
    assert CliRunner().invoke(cli, ["enterprises", "import", str(path)]).exit_code == 1
    assert set(_roster(client, admin)) == {"命令行企业有限公司"}
