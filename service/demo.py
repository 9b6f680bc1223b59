"""Demo users and tickets for `make run`: enough to click through every screen."""
from __future__ import annotations

import zlib

from sqlalchemy import select

from models import KnowledgeArticle, Role, Ticket, TicketStatus, User
from service.effects import RouteNewTickets
from service.pipeline.intake import register
from service.unit_of_work import UnitOfWork
from service.security.users import create_user
from service.schemas.ticket import TicketCreate

DEMO_PASSWORD = "hotline-demo"

DEMO_USERS = [
    ("operator", Role.OPERATOR, None, "96666话务员"),
    ("dispatcher", Role.DISPATCHER, None, "派单员"),
    ("leader", Role.LEADER, None, "市领导"),
    ("admin", Role.ADMIN, None, "系统管理员"),
    ("liushi", Role.HANDLER, "tc.yueqing_liushi", "柳市镇企业服务中心专员"),
    ("yq-power", Role.HANDLER, "yueqing.power", "国网乐清市供电公司"),
    ("yq-rsj", Role.HANDLER, "yueqing.rsj", "乐清市人社局"),
]

# (channel, town, request type, urgency, title, description, enterprise, uscc body without check char, or None:
# the caller gave the name alone, and intake matches it on the name folded)
DEMO_TICKETS = [
    ("hotline_96666", "yueqing_liushi", "help", "urgent", "厂区突然停电影响生产",
     "我司位于柳市镇工业区，今天上午厂区突然停电，变压器跳闸，生产线全部停工，请供电部门尽快处理。",
     "乐清市柳市华电电气有限公司", "91330382MA2AB1C2D"),
    ("bangqiyun", "yueqing_liushi", "consult", "normal", "高新技术企业认定咨询",
     "企业今年想申报高新技术企业，想了解研发费用占比和知识产权数量要求。",
     "乐清市正泰精工电器有限公司", "91330382MA2AB1C3E"),
    ("town_centre", "yueqing_liushi", "help", "normal", "园区道路积水严重",
     "柳市镇工业园区东路下雨后积水严重，货车进出困难，希望镇里尽快疏通排水。",
     "乐清市柳市华电电气有限责任公司", None),
    ("hotline_96666", "ruian_tangxia", "complaint", "normal", "外省员工社保转移接续困难",
     "公司部分外省员工社保关系转移接续办理困难，跑了几次没有办好，影响招工稳定。",
     "瑞安市塘下汽摩配件有限公司", "91330381MA2CD3E4F"),
    ("liangwan", "yongjia_oubei", "help", "normal", "泵阀产品专利被仿冒",
     "我司的阀门外观设计专利被同行仿冒并在网上销售，请求知识产权部门帮助维权。",
     "永嘉县瓯北泵阀制造有限公司", "91330324MA2EF5G6H"),
    ("zhitongche", "ouhai_louqiao", "help", "normal", "技改项目补助资金未到账",
     "去年完成的智能化技改项目已经验收通过，但补助资金一直没有到账，请帮忙协调。",
     "温州娄桥智能装备有限公司", "91330304MA2GH7J8K"),
    ("kentanhui", "longwan_yongzhong", "suggestion", "normal", "建议简化出口退税流程",
     "外贸企业出口退税审核时间较长，资金周转压力大，建议进一步简化流程、加快退税进度。",
     "温州龙湾鞋业进出口有限公司", "91330303MA2JK9L0M"),
    ("qijian", "pingyang_aojiang", "consult", "normal", "排污许可证延续办理",
     "企业排污许可证明年到期，想了解延续办理需要准备哪些材料。",
     "平阳县鳌江印刷包装有限公司", "91330326MA2LM1N2P"),
    # These are worked through at once (see DEMO_PROGRESS), so the dashboard has resolutions to show.
    ("hotline_96666", "yueqing_beibaixiang", "help", "urgent", "车间线路跳闸频繁",
     "北白象镇厂区最近一周线路频繁跳闸，多次停电，影响订单交付。",
     "乐清市北白象精密模具有限公司", "91330382MA2NP3Q4R"),
    ("bangqiyun", "yueqing_hongqiao", "help", "normal", "电力增容报装进度慢",
     "新厂房需要电力增容，报装申请提交一个多月还没有批复，影响设备投产。",
     "乐清市虹桥电子科技有限公司", "91330382MA2QR5P6T"),
    ("hotline_96666", "yueqing_liushi", "help", "normal", "招工难缺少熟练电工",
     "企业订单增加，急需招聘熟练电工和装配工，希望人社部门帮助对接招聘会。",
     "乐清市正泰精工电器有限公司", "91330382MA2AB1C3E"),
    ("town_centre", "yueqing_liushi", "help", "normal", "厂区门口路灯损坏",
     "柳市镇工业区厂区门口路灯损坏多日，夜班员工出行不安全，请镇里维修。",
     "乐清市柳市华电电气有限公司", "91330382MA2AB1C2D"),
    ("bangqiyun", "yueqing_chengdong", "consult", "normal", "稳岗补贴申领咨询",
     "想了解今年稳岗返还补贴的申领条件和办理流程。",
     "乐清市城东智能仪表有限公司", "91330382MA2RT7U8W"),
    ("hotline_96666", "yueqing_liushi", "help", "normal", "员工社保缴费基数调整",
     "企业员工社保缴费基数调整后系统无法申报，请人社部门指导。",
     "乐清市柳市华电电气有限公司", "91330382MA2AB1C2D"),
    ("zhitongche", "yueqing_liushi", "help", "urgent", "变压器故障停电",
     "厂区变压器故障导致全面停电，请供电公司紧急抢修。",
     "乐清市正泰精工电器有限公司", "91330382MA2AB1C3E"),
    ("hotline_96666", "yueqing_lecheng", "consult", "normal", "小微企业税费减免政策咨询",
     "想了解今年小微企业增值税和所得税减免政策的适用条件。",
     "乐清市乐成文具用品有限公司", None),
]

# The roster (规上 enterprises) of the demo: six of the enterprises above have called, the others not yet, so the
# coverage figure (GET /api/v1/stats/coverage) has something to show. (name, USCC body, town, chain, tier)
DEMO_ROSTER = [
    ("乐清市柳市华电电气有限公司", "91330382MA2AB1C2D", "柳市镇", "电气", None),
    ("乐清市正泰精工电器有限公司", "91330382MA2AB1C3E", "柳市镇", "电气", "省级专精特新中小企业"),
    ("瑞安市塘下汽摩配件有限公司", "91330381MA2CD3E4F", "塘下镇", "汽摩配", None),
    ("永嘉县瓯北泵阀制造有限公司", "91330324MA2EF5G6H", "瓯北街道", "泵阀", "创新型中小企业"),
    ("温州娄桥智能装备有限公司", "91330304MA2GH7J8K", "娄桥街道", "智能装备", "国家级专精特新“小巨人”企业"),
    ("乐清市北白象精密模具有限公司", "91330382MA2NP3Q4R", "北白象镇", "智能装备", None),
    ("乐清市柳市万联电器有限公司", "91330382MA2W00101", "柳市镇", "电气", None),
    ("乐清市柳市新宇开关有限公司", "91330382MA2W00102", "柳市镇", "电气", "创新型中小企业"),
    ("乐清市柳市长城电缆有限公司", "91330382MA2W00103", "柳市镇", "电气", None),
    ("乐清市北白象东方电子有限公司", "91330382MA2W00104", "北白象镇", "电气", None),
    ("乐清市虹桥恒远仪表有限公司", "91330382MA2W00105", "虹桥镇", "智能装备", None),
    ("乐清市乐成金龙五金有限公司", "91330382MA2W00106", "乐成街道", None, None),
    ("瑞安市塘下瑞丰汽车部件有限公司", "91330381MA2W00107", "塘下镇", "汽摩配", "省级专精特新中小企业"),
    ("瑞安市塘下明辉制动器有限公司", "91330381MA2W00108", "塘下镇", "汽摩配", None),
    ("瑞安市塘下博创轴承有限公司", "91330381MA2W00109", "塘下镇", "汽摩配", None),
    ("永嘉县瓯北嘉诚阀门有限公司", "91330324MA2W00110", "瓯北街道", "泵阀", None),
    ("永嘉县瓯北立信泵业有限公司", "91330324MA2W00111", "瓯北街道", "泵阀", None),
    ("温州娄桥联合机械有限公司", "91330304MA2W00112", "娄桥街道", "智能装备", None),
    ("温州龙湾百利鞋业有限公司", "91330303MA2W00113", "永中街道", "鞋业", None),
    ("温州龙湾海纳服饰有限公司", "91330303MA2W00114", "永中街道", "服装", None),
    ("平阳县鳌江广源包装有限公司", "91330326MA2W00115", "鳌江镇", "印刷包装", None),
    ("平阳县鳌江昌盛纸业有限公司", "91330326MA2W00116", "鳌江镇", "印刷包装", None),
    ("乐清市城东康特仪器有限公司", "91330382MA2W00117", "城东街道", "智能装备", None),
    ("乐清市虹桥宏达电子有限公司", "91330382MA2W00118", "虹桥镇", "电气", None),
]

# title -> how far the demo takes the ticket: accepted (签收), resolved (办结), closed (回访满意 and 归档),
# instant (即时办结 by the operator during the call). Each step is done by the demo user of the unit the rules
# chose, through the same pipeline functions the API calls.
DEMO_PROGRESS = {
    "车间线路跳闸频繁": "closed", "电力增容报装进度慢": "accepted", "招工难缺少熟练电工": "closed",
    "厂区门口路灯损坏": "closed", "稳岗补贴申领咨询": "resolved", "员工社保缴费基数调整": "accepted",
    "变压器故障停电": "closed", "小微企业税费减免政策咨询": "instant",
}
INSTANT_ANSWER = "已电话告知小微企业减免政策的适用条件和申报方式，企业表示清楚。"
INSTANT_ARTICLE_KEY = "policy-small-micro-tax"  # the starter article that answer was given from
OPINIONS = {
    "yueqing.power": "已派抢修班组到场，更换故障设备，恢复供电并排查线路隐患。",
    "yueqing.rsj": "已对接企业需求，告知办理流程并安排专人指导，问题已解决。",
    "tc.yueqing_liushi": "镇企业服务中心已联系相关部门到场处理，问题已解决。",
}


def seed_demo_users(session: UnitOfWork) -> list[str]:
    """Create the demo logins that do not exist yet; returns the usernames created."""
    made = []
    for username, role, unit, name in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username=username, password=DEMO_PASSWORD, role=role, unit_code=unit,
                        display_name=name)
            made.append(username)
    return made


def seed_demo_knowledge(session: UnitOfWork):
    """Load the knowledge base's starter articles and reply templates (idempotent); returns the load report."""
    from service.pipeline import knowledge

    return knowledge.load(session)


def _demo_contact(enterprise: str) -> dict:
    """The same contact person and phone for every ticket of one demo enterprise (the caller lookup finds them)."""
    n = zlib.crc32(enterprise.encode()) % 10_000
    return {"name": ("王经理", "李总", "陈主任", "张会计")[n % 4], "phone": f"1395770{n:04d}"}


def seed_demo_roster(session: UnitOfWork) -> dict:
    """Put the demo roster of 规上 enterprises on record (idempotent), through the roster import; its report."""
    from stdnum.cn import uscc

    from service.pipeline import roster

    rows = [(i, {"name": name, "uscc": code17 + uscc.calc_check_digit(code17), "town": town, "chain": chain,
                 "tier": tier, "above_scale": "是"})
            for i, (name, code17, town, chain, tier) in enumerate(DEMO_ROSTER, start=2)]
    return roster.import_roster(session, rows).report()


def seed_demo_tickets(session: UnitOfWork) -> list[int]:
    """Register the demo tickets once (their external ids make a second run a no-op)."""
    from stdnum.cn import uscc

    operator = session.scalar(select(User).where(User.username == "operator"))
    created = []
    for i, (channel, town, rtype, urgency, title, desc, name, code17) in enumerate(DEMO_TICKETS, 1):
        body = TicketCreate(
            channel=channel, external_id=f"demo-{i}", town=town, request_type=rtype, urgency=urgency,
            title=title, description=desc, contact=_demo_contact(name),
            enterprise={"name": name} if code17 is None else {"name": name,
                                                                "uscc": code17 + uscc.calc_check_digit(code17)},
        )
        registered = register(session, body, channel=channel, external_id=body.external_id, user=operator)
        if registered.created:
            created.append(registered.ticket.id)
    return created


def progress_demo_tickets(session: UnitOfWork, ticket_ids: list[int]) -> dict[str, int]:
    """Work the demo tickets named in DEMO_PROGRESS as far as it says (only those just created); counts by stage."""
    from service.pipeline import actions, knowledge, resolution, route

    operator = session.scalar(select(User).where(User.username == "operator"))
    handlers = {u.unit_code: u for u in session.scalars(select(User).where(User.role == Role.HANDLER.value))}
    done: dict[str, int] = {}
    for ticket_id in ticket_ids:
        ticket = session.get(Ticket, ticket_id)
        stage = DEMO_PROGRESS.get(ticket.title)
        if stage is None or ticket.status != TicketStatus.NEW:
            continue
        if stage == "instant":
            article = session.scalar(select(KnowledgeArticle).where(KnowledgeArticle.key == INSTANT_ARTICLE_KEY))
            fresh = article is not None and knowledge.stale_reason(article) is None  # a stale one is not cited
            cited = knowledge.citation(session, article.id, "article_id") if fresh else None
            resolution.instant_resolve(session, ticket, operator, INSTANT_ANSWER, citation=cited)
            done[stage] = done.get(stage, 0) + 1
            continue
        route.route_ticket(session, ticket_id)
        handler = handlers.get(ticket.lead_unit_code)
        if ticket.status != TicketStatus.ASSIGNED or handler is None:
            continue  # the rules were edited: leave it where routing put it
        actions.accept(session, ticket, handler)
        if stage != "accepted":
            resolution.resolve(session, ticket, handler, OPINIONS.get(handler.unit_code, "问题已解决。"))
        if stage == "closed":
            resolution.feedback(session, ticket, operator, satisfaction="satisfied", solved=True,
                                comment="企业对处理结果满意")
            resolution.close(session, ticket, operator)
        done[stage] = done.get(stage, 0) + 1
    return done


def route_waiting(session: UnitOfWork) -> None:
    """Tickets left `new` (by an earlier run whose routing was lost) are routed once the unit commits."""
    if session.scalar(select(Ticket.id).where(Ticket.status == TicketStatus.NEW).limit(1)) is not None:
        session.add_effect(RouteNewTickets())
