"""The one tokenizer (service.domain.textsearch): what intake stores for each ticket, and the similarity intake
reports, which it computes in SQL from the stored tokens only."""
from __future__ import annotations

from hypothesis import given, settings, strategies as st
from sqlalchemy import select

from models import Ticket
from service import db
from service.domain.textsearch import tokens
from service.pipeline import intake
from service.schemas.ticket import TicketCreate
from tests.factories import make_uscc, ticket_body

SAMPLES = [
    "停", "停电", "厂区突然停电影响生产", "ABC公司 123号厂房停电，变压器跳闸！", "Wi-Fi 5G 网络 (测试) abc_DEF",
    "温州 乐清市柳市镇 工业区 A1 栋", "豈更車", "㐀㐁 x", "企业负责人希望与领导见面交流近期经营情况。",
    "数字 2026 年 11 月 27 日，电话13800000000", "ÀÉÎ été café 停电", "emoji 🙂 停电 🙂",
]


def jaccard(a: str, b: str) -> float:
    """The definition: |A ∩ B| / |A ∪ B| over the two texts' token sets."""
    sa, sb = set(tokens(a)), set(tokens(b))
    return len(sa & sb) / len(sa | sb) if sa and sb else 0.0


def test_tokens_split_cjk_into_bigrams_and_words_into_lower_case():
    assert tokens("温州电气 ABC-12") == ["温州", "州电", "电气", "abc", "12"]
    assert tokens("停") == ["停"]
    assert tokens("  ，。 ") == []


def _register(session, title: str, description: str, uscc_seed: int):
    body = TicketCreate(**ticket_body(title=title, description=description,
                                      enterprise={"name": f"测试企业{uscc_seed}", "uscc": make_uscc(uscc_seed)}))
    return intake.register(session, body, channel="hotline_96666", external_id=None, user=None)


def test_intake_stores_each_tickets_distinct_tokens(session):
    for i, text in enumerate(SAMPLES):
        registered = _register(session, "问题反映", f"{text} 描述", 900 + i)
        stored = session.scalar(select(Ticket.tokens).where(Ticket.id == registered.ticket.id))
        assert stored == list(dict.fromkeys(tokens(f"问题反映 {text} 描述"))), text


ALPHABET = st.sampled_from(list("停电跳闸变压器厂区招工社保专利abcXYZ019 ，。-_!豈㐀") + ["\u9fff", "\ufaff", "é"])


@settings(max_examples=40, deadline=None)
@given(a=st.text(ALPHABET, min_size=1, max_size=30), b=st.text(ALPHABET, min_size=1, max_size=30))
def test_reported_similarity_is_the_jaccard_of_the_token_sets(a, b):
    with db.session_factory()() as session:
        first = _register(session, "问题反映", f"说明{a}", 77)
        second = _register(session, "问题反映", f"说明{b}", 77)
        expected = jaccard(f"问题反映 说明{a}", f"问题反映 说明{b}")
        found = {d.id: d.similarity for d in second.duplicates}
        if expected >= 0.35:
            assert found.get(first.ticket.id) == round(expected, 3)
        else:
            assert first.ticket.id not in found
        session.rollback()


def test_a_long_description_stores_only_the_first_tokens(session, override_settings):
    override_settings(dedupe_max_tokens=20)
    long_text = "".join(chr(0x4E00 + i) for i in range(400))  # 399 distinct bigrams
    registered = _register(session, "问题反映", long_text, 31)
    stored = session.scalar(select(Ticket.tokens).where(Ticket.id == registered.ticket.id))
    assert stored == list(dict.fromkeys(tokens(f"问题反映 {long_text}")))[:20]
    again = _register(session, "问题反映", long_text, 31)
    assert [(d.id, d.similarity) for d in again.duplicates] == [(registered.ticket.id, 1.0)]
