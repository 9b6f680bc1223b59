"""The tokens and similarity that intake computes in SQL are those of service.domain.textsearch."""
from __future__ import annotations

import random

from hypothesis import given, settings, strategies as st
from sqlalchemy import text

from service import db
from service.domain.textsearch import similarity, tokens

SAMPLES = [
    "", "停", "停电", "厂区突然停电影响生产", "ABC公司 123号厂房停电，变压器跳闸！", "Wi-Fi 5G 网络 (测试) abc_DEF",
    "温州 乐清市柳市镇 工业区 A1 栋", "豈更車", "  ", "㐀㐁 x", "企业负责人希望与领导见面交流近期经营情况。",
    "数字 2026 年 11 月 27 日，电话13800000000", "ÀÉÎ été café 停电", "emoji 🙂 停电 🙂",
]


def _sql_tokens(session, value: str) -> set[str]:
    return set(session.scalar(text("SELECT hotline_tokens(:t)"), {"t": value}))


def _sql_similarity(session, a: str, b: str) -> float:
    return session.scalar(text("SELECT hotline_jaccard(hotline_tokens(:a), hotline_tokens(:b))"), {"a": a, "b": b})


def test_sql_tokens_and_similarity_equal_python(session):
    for value in SAMPLES:
        assert _sql_tokens(session, value) == set(tokens(value)), value
    rng = random.Random(7)
    for _ in range(60):
        a, b = rng.choice(SAMPLES), rng.choice(SAMPLES)
        assert _sql_similarity(session, a, b) == similarity(a, b), (a, b)


ALPHABET = st.sampled_from(list("停电跳闸变压器厂区招工社保专利abcXYZ019 ，。-_!豈㐀") + ["\u9fff", "\ufaff", "é"])


@settings(max_examples=60, deadline=None)
@given(a=st.text(ALPHABET, max_size=30), b=st.text(ALPHABET, max_size=30))
def test_sql_similarity_equals_python_on_any_text(a, b):
    with db.session_factory()() as session:
        assert _sql_tokens(session, a) == set(tokens(a))
        assert _sql_similarity(session, a, b) == similarity(a, b)
