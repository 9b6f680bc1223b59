"""The knowledge base over HTTP: who writes, every version kept, search, suggestions, stale entries, bad input."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
import yaml
from typer.testing import CliRunner

from models import Role
from service.cli import app as cli
from service.pipeline.knowledge import STARTER, today
from tests.factories import login

URL = "/api/v1/knowledge"
TODAY = today()  # the service's day (Beijing), which validity dates are read in


@pytest.fixture
def people(client):
    return {
        "admin": login(client, "kb-admin", Role.ADMIN),
        "op": login(client, "kb-op"),
        "boss": login(client, "kb-boss", Role.LEADER),
        "power": login(client, "kb-power", Role.HANDLER, "yueqing.power"),
        "rsj": login(client, "kb-rsj", Role.HANDLER, "yueqing.rsj"),
    }


def article(**overrides) -> dict:
    body = {"title": "企业用电报装与增容办理", "category": "factor", "tags": ["用电", "增容"],
            "body": "低压小微企业办电享受零上门、零审批、零投资服务，可通过网上国网App申请新装和增容。",
            "review_by": str(TODAY + timedelta(days=180))}
    body.update(overrides)
    return body


def post(client, who, **overrides):
    return client.post(URL, json=article(**overrides), headers=who)


def test_an_admin_writes_an_article_everyone_reads_it(client, people):
    r = post(client, people["admin"], owner_unit="yueqing.power", valid_from="2024-01-01")
    assert r.status_code == 201, r.text
    a = r.json()
    assert a["kind"] == {"code": "article", "label": "知识"}
    assert a["category"] == {"code": "factor", "label": "要素对接"}
    assert a["owner_unit"] == {"code": "yueqing.power", "name": "国网乐清市供电公司"}
    assert (a["version"], a["stale"], a["stale_reason"], a["updated_by"]) == (1, False, None, "kb-admin")
    assert a["tags"] == ["用电", "增容"] and a["valid_from"] == "2024-01-01"
    for who in people.values():
        got = client.get(f"{URL}/{a['id']}", headers=who)
        assert got.status_code == 200 and got.json() == a
    assert client.get(f"{URL}/{a['id']}").status_code == 401
    assert client.get(f"{URL}/{a['id'] + 1000}", headers=people["op"]).status_code == 404


def test_handlers_write_their_own_units_entries_only(client, people):
    mine = post(client, people["power"])  # the owner defaults to the handler's unit
    assert mine.status_code == 201 and mine.json()["owner_unit"]["code"] == "yueqing.power"
    assert post(client, people["power"], owner_unit="yueqing.rsj").status_code == 403
    assert post(client, people["op"]).status_code == 403
    assert post(client, people["boss"]).status_code == 403

    a = mine.json()
    edit = article(title="用电报装办理（更新）", version=1)
    assert client.put(f"{URL}/{a['id']}", json=edit, headers=people["rsj"]).status_code == 403
    assert client.put(f"{URL}/{a['id']}", json=edit, headers=people["op"]).status_code == 403
    gives_away = client.put(f"{URL}/{a['id']}", json={**edit, "owner_unit": "yueqing.rsj"}, headers=people["power"])
    assert gives_away.status_code == 403
    assert client.get(f"{URL}/{a['id']}", headers=people["op"]).json()["version"] == 1  # nothing changed
    ok = client.put(f"{URL}/{a['id']}", json=edit, headers=people["power"])
    assert ok.status_code == 200 and ok.json()["owner_unit"]["code"] == "yueqing.power"

    citywide = post(client, people["admin"]).json()  # no owning unit: the admins keep it
    assert citywide["owner_unit"] is None
    r = client.put(f"{URL}/{citywide['id']}", json=article(version=1), headers=people["power"])
    assert r.status_code == 403
    template = post(client, people["rsj"], kind="reply_template", title="人社政策咨询答复", category="policy",
                    body="已告知企业政策适用条件和办理流程，企业表示清楚。")
    assert template.status_code == 201
    assert template.json()["kind"] == {"code": "reply_template", "label": "答复模板"}
    assert template.json()["owner_unit"]["code"] == "yueqing.rsj"


def test_every_version_is_kept_and_a_stale_version_is_409(client, people):
    a = post(client, people["admin"], owner_unit="yueqing.power").json()
    v2 = client.put(f"{URL}/{a['id']}", json=article(title="用电报装（二版）", body="第二版正文：增容申请材料。",
                                                     version=1), headers=people["power"])
    assert v2.status_code == 200 and v2.json()["version"] == 2 and v2.json()["updated_by"] == "kb-power"
    stale = client.put(f"{URL}/{a['id']}", json=article(title="基于旧版本的修改", version=1), headers=people["admin"])
    assert stale.status_code == 409
    assert stale.json()["current_version"] == 2 and "version 2" in stale.json()["detail"]
    assert client.get(f"{URL}/{a['id']}", headers=people["op"]).json()["title"] == "用电报装（二版）"

    versions = client.get(f"{URL}/{a['id']}/versions", headers=people["op"]).json()
    assert [(v["version"], v["title"], v["edited_by"]) for v in versions["items"]] == [
        (2, "用电报装（二版）", "kb-power"), (1, "企业用电报装与增容办理", "kb-admin")]
    assert versions["items"][1]["body"] == article()["body"]  # the first version's whole content
    assert versions["items"][1]["owner_unit"]["code"] == "yueqing.power"
    first = client.get(f"{URL}/{a['id']}/versions", params={"limit": 1}, headers=people["op"]).json()
    assert [v["version"] for v in first["items"]] == [2] and first["next_cursor"]
    rest = client.get(f"{URL}/{a['id']}/versions", params={"limit": 1, "cursor": first["next_cursor"]},
                      headers=people["op"]).json()
    assert [v["version"] for v in rest["items"]] == [1] and rest["next_cursor"] is None
    assert client.get(f"{URL}/99999/versions", headers=people["op"]).status_code == 404


def test_two_edits_from_the_same_version_one_wins(client, people):
    a = post(client, people["admin"]).json()

    def edit(n: int):
        return client.put(f"{URL}/{a['id']}", json=article(title=f"并发修改{n}", version=1),
                          headers=people["admin"]).status_code

    with ThreadPoolExecutor(4) as pool:
        codes = sorted(pool.map(edit, range(4)))
    assert codes == [200, 409, 409, 409]
    versions = client.get(f"{URL}/{a['id']}/versions", headers=people["op"]).json()["items"]
    assert [v["version"] for v in versions] == [2, 1]


def test_search_finds_by_text_title_hits_first_and_filters(client, people):
    admin = people["admin"]
    in_body = post(client, admin, title="企业办电服务指南", body="新装和增容均可在网上国网申请，研发费用无关。",
                   category="factor", tags=["用电"]).json()
    in_title = post(client, admin, title="增容申请材料清单", body="营业执照、用电地址物权证明。", category="factor",
                    owner_unit="yueqing.power", tags=[]).json()
    template = post(client, admin, kind="reply_template", title="增容进度答复", owner_unit="yueqing.power",
                    body="已告知企业增容目前所处环节。", category="factor", tags=[]).json()
    other = post(client, admin, title="高新技术企业认定", body="研发费用占比要求。", category="tech",
                 tags=["高企"]).json()
    expired = post(client, admin, title="增容旧政策", body="增容收费标准（已废止）。", tags=[],
                   valid_until=str(TODAY - timedelta(days=1)), valid_from=str(TODAY - timedelta(days=400))).json()

    def ids(**params):
        r = client.get(URL, params=params, headers=people["op"])
        assert r.status_code == 200, r.text
        return [a["id"] for a in r.json()["items"]]

    assert ids(q="增容") == [template["id"], in_title["id"], in_body["id"]]  # title hits first, then newest
    assert ids(q="增容 申请") == [in_title["id"], in_body["id"]]  # every word must occur
    assert ids(q="增容", kind="reply_template") == [template["id"]]
    assert ids(q="增容", kind="答复模板") == [template["id"]]
    assert ids(q="增容", unit="yueqing.power", kind="article") == [in_title["id"]]
    assert ids(category="tech") == [other["id"]]
    assert ids(tag="用电") == [in_body["id"]]
    assert ids(q="增容", include_stale="true")[0] == expired["id"]  # its title holds the word
    assert expired["id"] not in ids() and expired["id"] in ids(include_stale="true")
    assert ids(q="没有这样的词语") == []

    pages, cursor = [], None
    while True:
        r = client.get(URL, params={"limit": 2, **({"cursor": cursor} if cursor else {})},
                       headers=people["op"]).json()
        pages.append([a["id"] for a in r["items"]])
        if not (cursor := r["next_cursor"]):
            break
    assert pages == [[other["id"], template["id"]], [in_title["id"], in_body["id"]]]  # newest first, no repeats
    ranked = client.get(URL, params={"q": "增容", "limit": 1}, headers=people["op"]).json()
    then = client.get(URL, params={"q": "增容", "limit": 2, "cursor": ranked["next_cursor"]},
                      headers=people["op"]).json()
    assert [a["id"] for a in ranked["items"] + then["items"]] == [template["id"], in_title["id"], in_body["id"]]


def test_stale_entries_say_why(client, people):
    yesterday = str(TODAY - timedelta(days=1))
    expired = post(client, people["admin"], valid_from="2020-01-01", valid_until=yesterday).json()
    overdue = post(client, people["admin"], review_by=yesterday).json()
    due_today = post(client, people["admin"], review_by=str(TODAY), valid_until=str(TODAY)).json()
    assert (expired["stale"], expired["stale_reason"]) == (True, "已过有效期")
    assert (overdue["stale"], overdue["stale_reason"]) == (True, "已超过复核日期")
    assert (due_today["stale"], due_today["stale_reason"]) == (False, None)  # still good on the day itself
    refreshed = client.put(f"{URL}/{overdue['id']}", json=article(version=1, review_by=str(TODAY + timedelta(30))),
                           headers=people["admin"]).json()
    assert (refreshed["stale"], refreshed["stale_reason"]) == (False, None)


def _starter_articles(client, admin) -> dict[str, int]:
    """The shipped starter set posted through the API, its dates moved so that it is fresh whenever the test runs
    (but for the one policy that has run out): key -> id."""
    doc = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    ids = {}
    for item in doc["articles"]:
        body = {k: v for k, v in item.items() if k not in ("key", "valid_from", "valid_until")}
        body["review_by"] = str(TODAY + timedelta(days=180))
        if item["key"] == "policy-social-insurance-deferral-2022":
            body["valid_until"] = str(TODAY - timedelta(days=1))
        r = client.post(URL, json=body, headers=admin)
        assert r.status_code == 201, (item["key"], r.text)
        ids[item["key"]] = r.json()["id"]
    return ids


# (ticket title, description, the starter article that answers it)
TICKETS = [
    ("高新技术企业认定咨询", "企业今年想申报高新技术企业，想了解研发费用占比和知识产权数量要求。", "tech-high-tech-enterprise"),
    ("厂区突然停电影响生产", "我司位于柳市镇工业区，今天上午厂区突然停电，变压器跳闸，生产线全部停工，请供电部门尽快处理。",
     "factor-power-outage-repair"),
    ("电力增容报装进度慢", "新厂房需要电力增容，报装申请提交一个多月还没有批复，影响设备投产。", "factor-power-connection"),
    ("稳岗补贴申领咨询", "想了解今年稳岗返还补贴的申领条件和办理流程。", "policy-unemployment-insurance-refund"),
    ("排污许可证延续办理", "企业排污许可证明年到期，想了解延续办理需要准备哪些材料。", "approval-pollutant-permit-renewal"),
    ("小微企业税费减免政策咨询", "想了解今年小微企业增值税和所得税减免政策的适用条件。", "policy-small-micro-tax"),
    ("建议简化出口退税流程", "外贸企业出口退税审核时间较长，资金周转压力大，建议进一步简化流程、加快退税进度。",
     "market-export-tax-refund"),
    ("泵阀产品专利被仿冒", "我司的阀门外观设计专利被同行仿冒并在网上销售，请求知识产权部门帮助维权。",
     "legal-patent-infringement"),
    ("研发费用加计扣除怎么申报", "公司去年研发投入较大，想知道研发费用加计扣除的比例，在什么时候申报。",
     "tech-rnd-super-deduction"),
    ("技改项目补助资金未到账", "去年完成的智能化技改项目已经验收通过，但补助资金一直没有到账，请帮忙协调。",
     "policy-tech-upgrade-subsidy"),
    ("新厂房消防验收咨询", "新建厂房快竣工了，想咨询消防验收需要哪些材料、多长时间能办完。", "approval-fire-acceptance"),
    ("新产品商标注册", "准备给新产品注册商标，想了解商标注册的流程、费用和需要多长时间。", "market-trademark-registration"),
    ("员工社保缴费基数调整", "企业员工社保缴费基数调整后系统无法申报，请人社部门指导。", "factor-social-insurance-base"),
    ("被国企拖欠工程款", "我司给某单位做的工程已经验收交付半年，工程款一直拖欠不付，请帮助清欠。", "appeal-overdue-payments"),
]


def test_suggestions_put_the_answering_article_first_and_never_a_stale_one(client, people):
    ids = _starter_articles(client, people["admin"])
    templates = {ids[k] for k in ids if k.startswith("template-")}
    for title, description, expected in TICKETS:
        r = client.get(f"{URL}/suggest", params={"title": title, "description": description},
                       headers=people["op"])
        assert r.status_code == 200, r.text
        got = r.json()
        assert got and got[0]["article"]["id"] == ids[expected], (title, [s["article"]["title"] for s in got])
        assert len(got) <= 3 and [s["score"] for s in got] == sorted((s["score"] for s in got), reverse=True)
        assert not templates & {s["article"]["id"] for s in got}

    deferral = ids["policy-social-insurance-deferral-2022"]
    assert client.get(f"{URL}/{deferral}", headers=people["op"]).json()["stale"] is True
    asked = client.get(f"{URL}/suggest", params={"title": "社保费缓缴", "description": "企业资金紧张，想申请阶段性缓缴"
                                                "社会保险费，请问特困行业缓缴政策还能办吗？", "limit": 10},
                       headers=people["op"]).json()
    assert deferral not in [s["article"]["id"] for s in asked]
    found = client.get(URL, params={"q": "缓缴", "include_stale": "true"}, headers=people["op"]).json()["items"]
    assert [a["id"] for a in found] == [deferral]  # it is still there to read and to bring up to date

    # The category boosts: the same words score half as much again in an article of the ticket's category.
    def scores(**params):
        got = client.get(f"{URL}/suggest", params={"title": "知识产权保护", "limit": 10, **params},
                         headers=people["op"]).json()
        return {s["article"]["id"]: (s["score"], s["article"]["category"]["code"]) for s in got}

    plain, boosted = scores(), scores(category="legal")
    assert any(code == "legal" for _, code in plain.values())
    for article_id, (score, code) in plain.items():
        assert boosted[article_id][0] == pytest.approx(score * (1.5 if code == "legal" else 1), abs=0.002)
    assert scores(category="legal") == boosted  # deterministic


def test_suggest_needs_some_text_and_unrelated_text_gets_nothing(client, people):
    post(client, people["admin"])
    assert client.get(f"{URL}/suggest", headers=people["op"]).status_code == 422
    r = client.get(f"{URL}/suggest", params={"title": "!!!"}, headers=people["op"])
    assert r.status_code == 200 and r.json() == []
    r = client.get(f"{URL}/suggest", params={"title": "路灯损坏夜间照明"}, headers=people["op"])
    assert r.status_code == 200 and r.json() == []


def test_bad_input_is_4xx_naming_the_field(client, people):
    admin, op = people["admin"], people["op"]

    def field_of(r, status=422):
        assert r.status_code == status, r.text
        return [d["field"] for d in r.json()["detail"]]

    assert field_of(post(client, admin, title="停电\u0000报修")) == ["title"]
    assert field_of(post(client, admin, valid_from="0001-01-01")) == ["valid_from"]
    assert field_of(post(client, admin, review_by="9999-12-31")) == ["review_by"]
    assert field_of(post(client, admin, valid_from="2026-06-01", valid_until="2026-01-01")) == ["valid_until"]
    assert field_of(post(client, admin, owner_unit="nowhere.unit")) == ["owner_unit"]
    assert field_of(post(client, admin, category="nonsense")) == ["category"]
    assert field_of(post(client, admin, kind="faq")) == ["kind"]
    assert field_of(post(client, admin, kind="reply_template")) == ["owner_unit"]  # a template belongs to a unit
    assert field_of(post(client, admin, tags=["x" * 41])) == ["tags.0"]
    assert field_of(post(client, admin, body="")) == ["body"]
    assert field_of(post(client, admin, surprise=1)) == ["surprise"]
    a = post(client, admin).json()
    assert field_of(client.put(f"{URL}/{a['id']}", json=article(), headers=admin)) == ["version"]
    assert field_of(client.put(f"{URL}/{a['id']}", json=article(version=2**63), headers=admin)) == ["version"]
    assert client.put(f"{URL}/{2**63}", json=article(version=1), headers=admin).status_code == 404
    assert client.put(f"{URL}/{2**62}", json=article(version=1), headers=admin).status_code == 404
    assert client.get(f"{URL}/{2**64}", headers=op).status_code == 404
    assert client.get(f"{URL}/0", headers=op).status_code == 404
    assert client.get(f"{URL}/abc", headers=op).status_code == 422

    def list_fields(params, path=URL):
        return field_of(client.get(path, params=params, headers=op))

    assert list_fields({"q": "x" * 10000}) == ["q"]
    assert list_fields({"q": "a\u0000b"}) == ["q"]
    assert list_fields({"kind": "faq"}) == ["kind"]
    assert list_fields({"category": "nonsense"}) == ["category"]
    assert list_fields({"unit": "nowhere.unit"}) == ["unit"]
    assert list_fields({"number": "1", "sort": "x"}) == ["number", "sort"]  # an unknown parameter is never ignored
    assert list_fields({"cursor": "garbage"}) == ["cursor"]
    assert list_fields({"limit": 0}) == ["limit"]
    assert client.get(URL, params={"limit": str(2**63)}, headers=op).status_code == 200  # capped at the maximum
    assert list_fields({"title": "x" * 10000}, f"{URL}/suggest") == ["title"]
    assert list_fields({"title": "停电", "limit": 11}, f"{URL}/suggest") == ["limit"]
    assert list_fields({"title": "停电", "q": "x"}, f"{URL}/suggest") == ["q"]
    assert list_fields({"cursor": str(2**63)}, f"{URL}/{a['id']}/versions") == ["cursor"]
    # A description too long for a URL is posted; its first few hundred words are read.
    long = client.post(f"{URL}/suggest", json={"description": "企业用电报装和增容。" * 1500}, headers=op)
    assert long.status_code == 200 and long.json()[0]["article"]["id"] == a["id"]
    assert field_of(client.post(f"{URL}/suggest", json={"title": "x" * 201}, headers=op)) == ["title"]
    assert field_of(client.post(f"{URL}/suggest", json={"description": "a\u0000b"}, headers=op)) == ["description"]


def test_the_starter_set_loads_once_and_people_s_edits_are_kept(client, people, tmp_path):
    runner = CliRunner()
    doc = yaml.safe_load(STARTER.read_text(encoding="utf-8"))
    articles = [a for a in doc["articles"] if a.get("kind", "article") == "article"]
    assert len(articles) >= 30
    assert {a["category"] for a in articles} == {"policy", "appeal", "approval", "factor", "tech", "digital", "legal",
                                                 "market", "investment", "exchange"}
    first = runner.invoke(cli, ["knowledge", "load"])
    assert first.exit_code == 0, first.output
    assert f"{len(doc['articles'])} created, 0 updated, 0 unchanged" in first.output
    again = runner.invoke(cli, ["knowledge", "load"])
    assert f"0 created, 0 updated, {len(doc['articles'])} unchanged" in again.output

    listed = client.get(URL, params={"include_stale": "true", "limit": 100}, headers=people["op"]).json()["items"]
    assert len(listed) == len(doc["articles"])
    edited = next(a for a in listed if a["title"] == "企业突发停电报修与故障处理")
    r = client.put(f"{URL}/{edited['id']}", json={**article(title=edited["title"], body="本单位修订后的正文。"),
                                                  "version": 1}, headers=people["power"])
    assert r.status_code == 200, r.text

    changed = tmp_path / "knowledge.yaml"
    for item in doc["articles"]:
        item["body"] += "（修订）"
    changed.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    third = runner.invoke(cli, ["knowledge", "load", str(changed)])
    assert f"0 created, {len(doc['articles']) - 1} updated, 0 unchanged, 1 kept as edited" in third.output
    assert client.get(f"{URL}/{edited['id']}", headers=people["op"]).json()["body"] == "本单位修订后的正文。"

    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"articles": [{"key": "x", "title": "标题", "body": "正文", "category": "nope"}]},
                                   allow_unicode=True), encoding="utf-8")
    refused = runner.invoke(cli, ["knowledge", "load", str(bad)])
    assert refused.exit_code == 1 and "category" in refused.output
