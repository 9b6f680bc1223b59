"""The work console in a real browser: operators, handlers and dispatchers doing their day, clicking and typing as
people do; each test checks what the screen shows and what the database then holds."""
from __future__ import annotations

from datetime import date, timedelta

from models import Role
from service.domain.workdays import is_workday
from tests.console.conftest import NUMBER, row, rows, user
from tests.factories import ticket_body


def _registered(api, run_jobs, who: str, **overrides) -> dict:
    """A ticket registered through the API and routed by the rules (the worker's job, run here)."""
    t = api.post(who, "tickets", ticket_body(**overrides))
    run_jobs()
    return api.get(who, f"tickets/{t['id']}")


def tab(page, key: str) -> None:
    """Open a queue tab and wait for its list."""
    page.click(f"#tabs [data-tab='{key}']")
    page.wait_for_selector(f"#qlist[data-tab='{key}']")


def pick(page, ticket: dict) -> None:
    """Open a ticket of the list and wait for it on the right."""
    page.click(f"#qlist [data-ticket-id='{ticket['id']}']")
    page.wait_for_selector(f"#qdetail [data-ticket-number='{ticket['number']}']")


def focused(page) -> str:
    """The id of the element that has the keyboard focus."""
    return page.evaluate("document.activeElement && document.activeElement.id")


OUTAGE = dict(title="车间突然停电", description="今天上午车间变压器跳闸停电，生产线全部停工，请供电部门尽快抢修。")
DRAINAGE = dict(title="园区道路积水严重", description="柳市镇工业园区东路下雨后积水严重，货车进出困难，希望镇里尽快疏通排水。")


def test_operator_registers_a_ticket_for_a_caller_found_by_phone_without_a_uscc(person, api, run_jobs):
    api.login("op", Role.OPERATOR)
    earlier = _registered(api, run_jobs, "op", enterprise={"name": "乐清市柳市华电电气有限公司"},
                          contact={"name": "王经理", "phone": "13905770001"}, **DRAINAGE)
    assert earlier["enterprise"]["uscc"] is None

    # the phone system opens the screen-pop URL; the operator logs in and the lookup is already done
    c = person().login("op", "/console/intake?phone=13905770001")
    page = c.page
    page.wait_for_selector("#callers .caller.picked")
    assert "乐清市柳市华电电气有限公司" in c.text("#callers") and "无信用代码" in c.text("#callers")
    assert earlier["number"] in c.text("#recent-tickets")  # that enterprise's recent tickets, beside the form
    assert page.input_value("#in-enterprise") == "乐清市柳市华电电气有限公司"
    assert page.input_value("#in-contact") == "王经理"
    assert page.input_value("#in-town") == "柳市镇" and page.input_value("#in-county") == "yueqing"
    assert focused(page) == "in-title"

    # the operator types the problem; saving without a description shows the API's error next to that field
    page.keyboard.type(OUTAGE["title"])
    page.click("#btn-register")
    assert "至少" in page.inner_text('[data-error-for="description"]') or \
        "必填" in page.inner_text('[data-error-for="description"]')
    page.fill("#in-description", OUTAGE["description"])
    page.wait_for_selector("#live-routing [data-preview-unit='yueqing.power']")  # the routing preview, live
    assert "国网乐清市供电公司" in c.text("#live-routing") and "停电" in c.text("#live-routing")
    c.shot("intake")
    page.keyboard.press("Control+Enter")

    number = page.inner_text("#ticket-number")
    assert NUMBER.match(number), number
    c.shot("intake-registered")
    saved = row("SELECT * FROM ticket WHERE number = :n", n=number)
    assert saved["enterprise_id"] == earlier["enterprise"]["id"] and saved["uscc"] is None
    assert saved["contact_phone"] == "13905770001" and saved["contact_name"] == "王经理"
    assert saved["title"] == OUTAGE["title"] and saved["town_code"] == "yueqing_liushi"
    assert saved["channel_code"] == "hotline_96666" and saved["request_type"] == "help"
    assert len(rows("SELECT id FROM ticket")) == 2

    # Esc: the next call starts on an empty form; the same caller again about the same problem is a possible duplicate
    page.keyboard.press("Escape")
    assert page.is_hidden("#intake-result") and page.input_value("#in-title") == ""
    c.go("/console/intake?phone=13905770001")
    page.wait_for_selector("#callers .caller.picked")
    page.keyboard.type("园区道路积水")
    page.wait_for_selector(f"#live-duplicates a:text('{earlier['number']}')")
    assert c.errors == []
    assert [r.split(" ", 2)[:2] for r in c.refused] == [["422", "POST"]]  # only the save without a description


def test_operator_resolves_a_policy_question_on_the_spot_citing_an_article(person, api):
    api.login("admin", Role.ADMIN)
    article = api.post("admin", "knowledge", {
        "kind": "article", "title": "研发费用加计扣除比例", "category": "policy", "tags": ["研发费用", "加计扣除"],
        "body": "自2023年1月1日起，企业开展研发活动中实际发生的研发费用，未形成无形资产计入当期损益的，在按规定据实"
                "扣除的基础上，再按照实际发生额的100%在税前加计扣除。"})
    user("op", Role.OPERATOR)

    c = person().login("op", "/console/intake")
    page = c.page
    assert focused(page) == "in-phone"
    page.keyboard.type("13905770002")
    page.keyboard.press("Enter")
    page.wait_for_selector("#caller-unknown")
    page.fill("#in-enterprise", "乐清市新光电器有限公司")
    page.fill("#in-contact", "陈会计")
    page.locator("#in-town").press_sequentially("柳市")
    page.wait_for_selector(".ac-list li")
    page.keyboard.press("Enter")
    assert page.input_value("#in-town") == "柳市镇" and page.input_value("#in-county") == "yueqing"
    page.select_option("#in-category", "policy")
    page.select_option("#in-request-type", "consult")
    page.fill("#in-title", "研发费用加计扣除比例咨询")
    page.fill("#in-description", "企业想了解今年研发费用加计扣除的比例和享受方式。")
    cite = page.wait_for_selector(f"#live-knowledge [data-cite='{article['id']}']")
    c.shot("intake-knowledge")
    cite.click()
    assert "100%" in page.input_value("#in-answer")
    assert page.get_attribute("#instant-article [data-cited]", "data-cited") == str(article["id"])
    page.click("#btn-instant")

    number = page.inner_text("#ticket-number")
    assert "即时办结" in c.text("#intake-result")
    saved = row("SELECT * FROM ticket WHERE number = :n", n=number)
    assert saved["status"] == "resolved" and saved["uscc"] is None and saved["category_code"] == "policy"
    event = row("SELECT payload FROM ticket_event WHERE ticket_id = :id AND kind = 'instant_resolved'", id=saved["id"])
    assert event["payload"]["article_id"] == article["id"]
    assert event["payload"]["article_title"] == "研发费用加计扣除比例"
    assert c.errors == [] and c.refused == []


def test_a_town_centre_handler_signs_for_a_ticket_and_resolves_it_from_the_queue(person, api, run_jobs):
    api.login("op", Role.OPERATOR)
    api.login("admin", Role.ADMIN)
    template = api.post("admin", "knowledge", {
        "kind": "reply_template", "title": "属地协调已处理", "owner_unit": "tc.yueqing_liushi",
        "body": "镇企业服务中心已会同村居和相关部门到场协调处理，问题已解决，企业表示认可。"})
    t = _registered(api, run_jobs, "op", **DRAINAGE)
    assert t["lead_unit"]["code"] == "tc.yueqing_liushi" and t["status"]["code"] == "assigned"
    user("liushi", Role.HANDLER, "tc.yueqing_liushi")

    c = person().login("liushi")
    page = c.page
    assert page.url.endswith("/console/queue") or "/console/queue?" in page.url  # the handler's home
    for key, label in [("to_accept", "待签收"), ("in_progress", "办理中"), ("awaiting_review", "待审核"),
                       ("assisting", "协办"), ("due_soon", "即将超期"), ("resolved", "已办结")]:
        assert label in page.inner_text(f"#tabs [data-tab='{key}']")
    assert page.get_attribute("#tabs [data-tab='to_accept'] .count", "data-count") == "1"
    pick(page, t)
    page.wait_for_selector("form[data-form='accept']")  # 待签收 opens with the 签收 form
    assert t["number"] in c.text("#qdetail") and "签收时限" in c.text("#qdetail")
    c.shot("queue")
    page.click("form[data-form='accept'] [data-submit]")
    page.wait_for_selector("#tabs [data-tab='in_progress'] .count[data-count='1']")
    assert row("SELECT status FROM ticket WHERE id = :id", id=t["id"])["status"] == "in_progress"

    tab(page, "in_progress")
    pick(page, t)
    # 申请延期: the date picker warns before the API refuses a day off
    page.click("#qdetail button[data-action='request_extension']")
    day_off = next(d for d in (date.today() + timedelta(days=14 + i) for i in range(30))
                   if d.weekday() >= 5 and not is_workday(d))
    page.fill("form[data-form='request_extension'] input[type='date']", day_off.isoformat())
    warning = page.wait_for_selector("form[data-form='request_extension'] [data-warning]:not([hidden])")
    assert "不是工作日" in warning.inner_text()
    page.click("form[data-form='request_extension'] button:text('取消')")
    page.click("#qdetail button[data-action='resolve']")
    form = "form[data-form='resolve']"
    page.wait_for_selector(f"{form} select[data-field='template'] option[value='{template['id']}']", state="attached")
    page.select_option(f"{form} select[data-field='template']", str(template["id"]))
    assert page.input_value(f"{form} [data-field='opinion']") == template["body"]
    c.shot("queue-resolve")
    page.click(f"{form} [data-submit]")
    page.wait_for_selector("#tabs [data-tab='resolved'] .count[data-count='1']")
    saved = row("SELECT status, opinion FROM ticket WHERE id = :id", id=t["id"])
    assert saved == {"status": "resolved", "opinion": template["body"]}

    # the centre keeps its own reply templates in the knowledge base: a new version
    c.go("/console/knowledge")
    page.click(f"#k-list [data-article-id='{template['id']}']")
    page.click("#k-edit")
    page.fill("#k-form [data-field='body']", "镇企业服务中心已到场协调，问题已解决，企业表示满意。")
    page.click("#k-save")
    page.wait_for_selector(f"#k-view article[data-article-id='{template['id']}']")
    assert "第 2 版" in c.text("#k-view")
    assert row("SELECT version, body FROM knowledge_article WHERE id = :id", id=template["id"]) == {
        "version": 2, "body": "镇企业服务中心已到场协调，问题已解决，企业表示满意。"}
    assert c.errors == [] and c.refused == []


def test_a_handler_refuses_and_a_dispatcher_approves_and_dispatches_elsewhere(person, api, run_jobs):
    api.login("op", Role.OPERATOR)
    t = _registered(api, run_jobs, "op", **OUTAGE)
    assert t["lead_unit"]["code"] == "yueqing.power"
    user("yq-power", Role.HANDLER, "yueqing.power")
    user("dispatcher", Role.DISPATCHER)

    handler = person().login("yq-power")
    page = handler.page
    pick(page, t)
    page.click("#qdetail button[data-action='refuse']")
    form = "form[data-form='refuse']"
    labels = page.eval_on_selector_all(f"{form} select[data-field='reason'] option", "os => os.map(o => o.textContent)")
    assert {"职能不符", "属地不符", "权属不清", "诉求不清", "重复"} <= set(labels)
    page.click(f"{form} [data-submit]")  # no reason chosen: the form says so beside the field
    assert "必填" in page.inner_text(f"{form} [data-error-for='reason']")
    page.select_option(f"{form} select[data-field='reason']", label="职能不符")
    page.fill(f"{form} [data-field='note']", "该问题为社保补贴，不属于供电公司职能。")
    page.click(f"{form} [data-submit]")
    page.wait_for_selector("#tabs [data-tab='awaiting_review'] .count[data-count='1']")
    saved = row("SELECT status, pending_refusal FROM ticket WHERE id = :id", id=t["id"])
    assert saved["status"] == "refuse_review" and saved["pending_refusal"]["reason"] == "not_our_function"

    d = person().login("dispatcher")
    page = d.page
    assert "/console/dispatch" in page.url
    tab(page, "refusal_review")
    pick(page, t)
    assert "职能不符" in d.text("#qdetail")
    actions = page.get_attribute("#qdetail .action-bar", "data-actions").split()
    assert {"approve_refusal", "overrule_refusal"} <= set(actions)
    page.click("#qdetail button[data-action='approve_refusal']")
    form = "form[data-form='approve_refusal']"
    page.locator(f"{form} [data-field='lead_unit']").press_sequentially("乐清市人力资源")
    page.wait_for_selector(f"{form} .ac-list li")
    page.keyboard.press("Enter")
    page.fill(f"{form} [data-field='note']", "同意退单，改派人社局。")
    d.shot("dispatch-refusal")
    page.click(f"{form} [data-submit]")
    page.wait_for_selector("#qdetail [data-status='assigned']")
    saved = row("SELECT status, lead_unit_code, pending_refusal FROM ticket WHERE id = :id", id=t["id"])
    assert saved == {"status": "assigned", "lead_unit_code": "yueqing.rsj", "pending_refusal": None}
    assert "乐清市人力资源和社会保障局" in d.text("#qdetail")
    kinds = [r["kind"] for r in rows("SELECT kind FROM ticket_event WHERE ticket_id = :id ORDER BY id", id=t["id"])]
    assert kinds[-2:] == ["refused", "refusal_approved"]
    assert handler.errors == [] and d.errors == [] and handler.refused == [] and d.refused == []


def test_an_operator_does_the_feedback_call_and_archives_the_ticket(person, api, run_jobs):
    api.login("op", Role.OPERATOR)
    api.login("yq-power", Role.HANDLER, "yueqing.power")
    t = _registered(api, run_jobs, "op", **OUTAGE)
    api.post("yq-power", f"tickets/{t['id']}/accept")
    api.post("yq-power", f"tickets/{t['id']}/resolve", {"opinion": "已派抢修班组更换跌落式熔断器，恢复供电。"})

    c = person().login("op", "/console/feedback")
    page = c.page
    assert page.get_attribute("#tabs [data-tab='feedback'] .count", "data-count") == "1"
    pick(page, t)
    form = "form[data-form='feedback']"
    page.wait_for_selector(form)  # the 回访 form opens with the ticket
    assert "已派抢修班组" in c.text("#qdetail")
    page.check(f"{form} input[name='satisfaction'][value='satisfied']")
    page.check(f"{form} input[name='solved'][value='1']")
    page.fill(f"{form} [data-field='comment']", "抢修及时，非常满意。")
    c.shot("feedback")
    page.click(f"{form} [data-submit]")
    page.click("#qdetail button[data-action='close']")
    page.click("form[data-form='close'] [data-submit]")
    page.wait_for_selector("#qdetail [data-status='closed']")
    saved = row("SELECT status, satisfaction, solved FROM ticket WHERE id = :id", id=t["id"])
    assert saved == {"status": "closed", "satisfaction": "satisfied", "solved": True}
    assert page.get_attribute("#tabs [data-tab='feedback'] .count", "data-count") == "0"
    timeline = c.text("#qdetail [data-section='timeline']")
    assert "回访" in timeline and "满意" in timeline and "归档" in timeline
    assert c.errors == [] and c.refused == []


def test_a_handler_never_sees_another_units_ticket_anywhere_in_the_console(person, api, run_jobs):
    api.login("op", Role.OPERATOR)
    mine = _registered(api, run_jobs, "op", title="稳岗补贴申领咨询", request_type="consult",
                       description="想了解今年稳岗返还补贴的申领条件和办理流程。")
    theirs = _registered(api, run_jobs, "op", **OUTAGE, enterprise={"name": "乐清市某开关厂"})
    assert mine["lead_unit"]["code"] == "yueqing.rsj" and theirs["lead_unit"]["code"] == "yueqing.power"
    user("yq-rsj", Role.HANDLER, "yueqing.rsj")

    c = person().login("yq-rsj")
    page = c.page
    seen = []

    def look() -> str:
        text = page.inner_text("body")
        seen.append(text)
        return text

    for key in page.eval_on_selector_all("#tabs [data-tab]", "ts => ts.map(t => t.dataset.tab)"):
        tab(page, key)
        look()
    assert mine["number"] in "".join(seen)
    for path in ("/console/search", f"/console/search?q={theirs['number']}", "/console/search?q=停电",
                 f"/console/search?q={theirs['enterprise']['name']}", "/console/knowledge"):
        c.go(path)
        page.wait_for_selector("#search-summary[data-done='1'], #k-list .qitem, #k-list .empty")
        look()
    for path in (f"/console/ticket?id={theirs['id']}", f"/console/ticket?number={theirs['number']}"):
        c.go(path)
        page.wait_for_selector("#ticket .empty")
        assert "未找到该工单" in look()
    c.go(f"/console/ticket?id={mine['id']}")  # its own ticket: shown
    assert mine["number"] in look()
    page.fill("#quick-q", theirs["number"])
    page.keyboard.press("Enter")
    c.ready()
    page.wait_for_selector("#search-summary[data-done='1']")
    assert "没有符合条件的工单" in look()
    for text in seen:
        assert theirs["number"] not in text and "乐清市某开关厂" not in text and "车间突然停电" not in text
