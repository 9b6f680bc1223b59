"""Demo users and tickets for `make run`: enough to click through every screen."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import Role, Ticket, User
from service.pipeline.intake import create_ticket
from service.pipeline.users import create_user
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

# (channel, town, request type, urgency, title, description, enterprise, uscc body without check char)
DEMO_TICKETS = [
    ("hotline_96666", "yueqing_liushi", "help", "urgent", "厂区突然停电影响生产",
     "我司位于柳市镇工业区，今天上午厂区突然停电，变压器跳闸，生产线全部停工，请供电部门尽快处理。",
     "乐清市柳市华电电气有限公司", "91330382MA2AB1C2D"),
    ("bangqiyun", "yueqing_liushi", "consult", "normal", "高新技术企业认定咨询",
     "企业今年想申报高新技术企业，想了解研发费用占比和知识产权数量要求。",
     "乐清市正泰精工电器有限公司", "91330382MA2AB1C3E"),
    ("town_centre", "yueqing_liushi", "help", "normal", "园区道路积水严重",
     "柳市镇工业园区东路下雨后积水严重，货车进出困难，希望镇里尽快疏通排水。",
     "乐清市柳市华电电气有限公司", "91330382MA2AB1C2D"),
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
]


def seed_demo_users(session: Session) -> list[str]:
    """Create the demo logins that do not exist yet; returns the usernames created."""
    made = []
    for username, role, unit, name in DEMO_USERS:
        if session.scalar(select(User.id).where(User.username == username)) is None:
            create_user(session, username=username, password=DEMO_PASSWORD, role=role, unit_code=unit,
                        display_name=name)
            made.append(username)
    return made


def seed_demo_tickets(session: Session) -> list[int]:
    """Register the demo tickets once (their external ids make a second run a no-op)."""
    from stdnum.cn import uscc

    operator = session.scalar(select(User).where(User.username == "operator"))
    created = []
    for i, (channel, town, rtype, urgency, title, desc, name, code17) in enumerate(DEMO_TICKETS, 1):
        body = TicketCreate(
            channel=channel, external_id=f"demo-{i}", town=town, request_type=rtype, urgency=urgency,
            title=title, description=desc, contact={"name": "联系人", "phone": "13800000000"},
            enterprise={"name": name, "uscc": code17 + uscc.calc_check_digit(code17)},
        )
        ticket, was_new = create_ticket(session, body, channel=channel, external_id=body.external_id, user=operator)
        if was_new:
            created.append(ticket.id)
    return created


def new_ticket_ids(session: Session) -> list[int]:
    return list(session.scalars(select(Ticket.id).where(Ticket.status == "new")))
