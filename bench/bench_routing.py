#!/usr/bin/env python
"""Routing throughput: RuleSet.route() with the shipped rules, and with 1,000 and 10,000 generated rules.

    python bench/bench_routing.py [--tickets 20000] [--repeat 5] [--sizes 1000,10000] [--baseline REV] [--corpus]

Tickets come from a fixed-seed generator of realistic problem texts (Chinese titles and descriptions,
counties, towns, channels, urgencies). Generated rules look like hand-written ones: 1-3 keywords drawn
from a synthetic vocabulary of a few thousand compound terms, plus a category, county, channel or
urgency condition now and then; they are written as YAML files to a temporary directory next to a copy
of the shipped files and loaded like any rule set. Each set is timed `--repeat` times over the same
tickets, in alternating rounds, and its best run is reported.
Rules are validated against the real unit list (models/reference/units.yaml). With --baseline, the engine,
rules and unit list of that git revision are timed in the same rounds on the same tickets, so the shipped
set's cost is compared with the baseline's from one machine state. route() builds a decision's reasons (score
breakdowns, runner-up) on first read; the "shipped, reasons" row also reads them, as storing a decision does.
With --corpus, the shipped set (reasons read) and the baseline are also timed on the texts of the labelled dev
cases, the words enterprises use, which hold more of the rules' keywords than the generated tickets do.
The goals: 10,000 rules cost at most 3x the shipped set; the shipped set at most 1.5x the baseline.
"""

from __future__ import annotations

import argparse
import dataclasses
import importlib
import io
import random
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from routing_rules import DEFAULT_RULES_DIR, RuleSet, TicketFacts  # noqa: E402

SEED = 20241127
GOAL_RATIO = 3.0
BASELINE_RATIO = 1.5
UNITS_FILE = Path("models/reference/units.yaml")
CITY_KINDS = (
    "jxj kjj fgw scjgj rsj zrzyj sthjj zjj swj tzcj tax jrj czj sfj yjglj jtj jj crj customs "
    "sjj nyj gsl xf power water gas"
).split()
COUNTY_KINDS = "jxj kjj fgw scjgj rsj zrzyj sthjj zjj swj tax czj sfj yjglj jtj power".split()
COUNTIES = "lucheng longwan ouhai dongtou ruian yueqing longgang yongjia pingyang cangnan wencheng taishun jingkai".split()
TOWNS = ["yueqing_liushi", "yueqing_beibaixiang", "ruian_tangxia", "yongjia_oubei", "ouhai_louqiao", "longwan_haicheng"]
CHANNELS = ["hotline_96666", "bangqiyun", "town_centre", "liangwan", "zhitongche", "qijian", "kentanhui"]
CATEGORIES = ["policy", "appeal", "approval", "factor", "tech", "digital", "legal", "market", "investment", "exchange"]
CHAINS = ["electrical", "footwear", "apparel", "auto_parts", "pump_valve", "digital_economy", "smart_equipment", "other"]
TIERS = ["innovative", "provincial_sxtx", "little_giant", "hidden_champion"]

TITLES = [
    "车间频繁跳闸影响生产", "新厂房申请电力增容", "园区道路积水严重", "技改补助资金至今未到账", "急需招工",
    "外籍员工签证即将到期", "出口退税办理进度", "专利被同行侵权", "环评审批材料咨询", "申请高新技术企业认定",
    "银行突然抽贷", "货车通行证办理", "排污许可证延续", "小升规奖励政策咨询", "数字化改造项目申报",
    "厂区周边居民投诉噪音", "天然气供应不足", "消防验收迟迟未通过", "项目备案和能耗指标", "跨境电商平台账号被封",
    "合同纠纷需要法律咨询", "工业用地指标紧张", "报关查验时间过长", "营业执照经营范围变更", "企业上市培育咨询",
    "社保缴费基数调整", "研发费用加计扣除", "专精特新企业申报", "产品质量抽检不合格申诉", "反映园区路灯不亮",
]
SENTENCES = [
    "我司是一家{chain}企业，现有员工{n}人。", "近期订单增加，产能跟不上。", "希望相关部门尽快协调解决。",
    "已多次联系未果，影响正常生产经营。", "请告知办理流程和所需材料。", "该问题已持续{n}天。",
    "去年已经提交申请，目前没有任何答复。", "企业位于工业园区内，周边配套不完善。", "恳请政府帮助协调。",
    "此前在镇企业服务中心登记过，尚未解决。", "损失较大，请求尽快处理。", "想了解最新的扶持政策。",
    "涉及金额约{n}万元。", "附近还有多家企业存在同样的问题。", "是否可以线上办理？",
]
CHAIN_NAMES = {"electrical": "电气", "footwear": "鞋业", "apparel": "服装", "auto_parts": "汽摩配",
               "pump_valve": "泵阀", "digital_economy": "数字经济", "smart_equipment": "智能装备", "other": "制造"}
# Synthetic vocabulary: product/process terms x problem terms, e.g. "注塑模具退税" or "阀门铸件抽检".
PREFIXES = [
    "注塑", "模具", "阀门", "铸件", "电镀", "印染", "鞋底", "皮革", "断路器", "继电器", "线缆", "开关柜", "汽配",
    "轴承", "水泵", "齿轮", "锂电", "光纤", "包装", "印刷", "纸箱", "塑料", "五金", "眼镜", "锁具", "打火机",
    "服装", "面料", "纽扣", "拉链", "合成革", "胶粘剂", "不锈钢", "铝型材", "铜材", "磁材", "传感器", "芯片",
    "机器人", "数控", "机床", "叉车", "电机", "变频器", "仪表", "阀体", "法兰", "管件", "标准件", "紧固件",
    "喷涂", "热处理", "焊接", "冲压", "压铸", "锻造", "机加工", "装配线", "仓储", "冷链", "危废", "污泥",
    "废气", "光伏板", "储能", "充电桩", "氢能", "新材料", "生物医药", "医疗器械", "食品", "饮料", "茶叶",
    "家具", "陶瓷", "玻璃", "石材", "建材", "涂料",
]
SUFFIXES = [
    "退税", "抽检", "备案", "认证", "检测", "许可", "补贴", "奖励", "扩产", "搬迁", "招工", "贷款", "担保",
    "出口", "订单", "质押", "专利", "标准", "能耗", "环评", "排放", "验收", "用地", "厂房", "仓库", "物流",
    "运费", "原料", "涨价", "停产", "限产", "纠纷", "欠款", "侵权", "仿冒", "召回", "投诉", "申报", "评审",
    "资质", "培训", "人才", "技改", "上云", "改造", "试点", "示范", "展会", "关税", "汇率", "报关", "滞港",
    "集采", "招标", "中标", "审计", "年检", "登记", "变更", "注销", "过户", "租金", "补偿", "拆迁", "安置",
    "供电", "供水", "供气", "噪音", "异味", "消防", "安全", "隐患", "事故", "赔偿", "保险", "税率", "发票",
    "账款", "垫资",
]


def known_units(units_yaml: str | None = None) -> frozenset[str]:
    """Every unit code of the reference unit list (the working tree's, or the given file text)."""
    text = units_yaml if units_yaml is not None else (ROOT / UNITS_FILE).read_text(encoding="utf-8")
    codes = frozenset(item["code"] for item in yaml.safe_load(text)["items"])
    generated = {f"city.{kind}" for kind in CITY_KINDS} | {f"tc.{town}" for town in TOWNS}
    generated |= {f"{county}.{kind}" for county in COUNTIES for kind in COUNTY_KINDS}
    missing = sorted(generated - codes)
    if missing:
        raise SystemExit(f"generated rules target units missing from {UNITS_FILE}: {', '.join(missing[:10])}")
    return codes


def load_baseline(revision: str, directory: Path, tickets: list[TicketFacts]) -> tuple[object, list, float]:
    """The engine, rules and unit list of a git revision (imported as package `baseline_routing_rules`),
    loaded from an extracted copy; returns (rule set, the tickets as that engine's facts, load seconds)."""
    archive = subprocess.run(["git", "archive", revision, "routing_rules"], cwd=ROOT, check=True,
                             capture_output=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(directory, filter="data")
    (directory / "routing_rules").rename(directory / "baseline_routing_rules")
    units_yaml = subprocess.run(["git", "show", f"{revision}:{UNITS_FILE.as_posix()}"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    sys.path.insert(0, str(directory))
    try:
        package = importlib.import_module("baseline_routing_rules")
    finally:
        sys.path.remove(str(directory))
    start = time.perf_counter()
    ruleset = package.RuleSet.load(known_units=known_units(units_yaml))
    load_s = time.perf_counter() - start
    names = {f.name for f in dataclasses.fields(package.TicketFacts)}
    converted = [package.TicketFacts(**{k: v for k, v in dataclasses.asdict(t).items() if k in names}) for t in tickets]
    return ruleset, converted, load_s


def vocabulary() -> list[str]:
    """The synthetic keyword vocabulary (a few thousand terms)."""
    return [p + s for p in PREFIXES for s in SUFFIXES]


def make_tickets(count: int, vocab: list[str], rnd: random.Random) -> list[TicketFacts]:
    """Realistic tickets; about half mention one or two terms of the synthetic vocabulary."""
    tickets = []
    for _ in range(count):
        chain = rnd.choice(CHAINS)
        parts = [s.format(chain=CHAIN_NAMES[chain], n=rnd.randint(2, 500)) for s in rnd.sample(SENTENCES, rnd.randint(2, 4))]
        for _ in range(rnd.choice([0, 0, 1, 2])):
            parts.insert(rnd.randrange(len(parts) + 1), f"关于{rnd.choice(vocab)}的问题，")
        town = rnd.choice([None, None, *TOWNS])
        county = town.split("_")[0] if town else rnd.choice([None, *COUNTIES, *COUNTIES])
        tickets.append(TicketFacts(
            channel=rnd.choice(CHANNELS), category=rnd.choice([None, *CATEGORIES]),
            request_type=rnd.choice(["consult", "help", "complaint", "report", "suggestion"]),
            urgency=rnd.choices(["normal", "urgent", "critical"], weights=[90, 8, 2])[0],
            county=county, town=town, enterprise_tier=rnd.choice([None, None, *TIERS]),
            enterprise_chain=chain, above_scale=rnd.choice([True, False, None]),
            title=rnd.choice(TITLES), description="".join(parts),
        ))
    return tickets


def make_rule(index: int, vocab: list[str], rnd: random.Random) -> dict:
    """One generated rule: 1-3 keywords and, sometimes, a field condition."""
    words = rnd.sample(vocab, rnd.randint(1, 3))
    when: dict = {"keywords_all": words[:2], "keywords_any": words[2:]} if len(words) > 1 and rnd.random() < 0.2 \
        else {"keywords_any": words}
    when = {k: v for k, v in when.items() if v}
    if rnd.random() < 0.1:
        when["keywords_none"] = [rnd.choice(vocab)]
    if rnd.random() < 0.5:
        when["category"] = rnd.sample(CATEGORIES, rnd.randint(1, 2))
    if rnd.random() < 0.2:
        when["county"] = rnd.choice(COUNTIES)
    if rnd.random() < 0.1:
        when["channel"] = rnd.choice(CHANNELS)
    if rnd.random() < 0.05:
        when["urgency"] = ["urgent", "critical"]
    roll = rnd.random()
    lead = {"town_centre": True} if roll < 0.1 else {"unit": f"city.{rnd.choice(CITY_KINDS)}"} if roll < 0.3 \
        else {"county_bureau": rnd.choice(COUNTY_KINDS)}
    route: dict = {"lead": lead}
    if rnd.random() < 0.3:
        route["assist"] = [{"county_bureau": rnd.choice(COUNTY_KINDS)}]
    return {"id": f"gen-{index:05d}", "priority": rnd.randrange(200, 950, 5),
            "description": f"生成规则 {index}", "when": when, "route": route}


def write_generated(directory: Path, count: int, vocab: list[str], rnd: random.Random) -> None:
    """The shipped files plus `count` generated rules, 500 to a file."""
    for path in sorted(DEFAULT_RULES_DIR.glob("*.yaml")):
        shutil.copy(path, directory / path.name)
    dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
    rules = [make_rule(i, vocab, rnd) for i in range(count)]
    for start in range(0, count, 500):
        text = yaml.dump({"rules": rules[start:start + 500]}, Dumper=dumper, allow_unicode=True, sort_keys=False)
        (directory / f"70_generated_{start // 500:03d}.yaml").write_text(text, encoding="utf-8")


def time_routes(rulesets: list, ticket_lists: list[list], repeat: int) -> list[tuple[float, float]]:
    """Per rule set (routing its own list of the same tickets): (best seconds per decision, share matched)."""
    best = [float("inf")] * len(rulesets)
    # Rounds alternate between the rule sets so that load from other processes on the machine
    # hits them all alike instead of skewing the ratio.
    for _ in range(repeat):
        for index, (ruleset, tickets) in enumerate(zip(rulesets, ticket_lists)):
            route = ruleset.route
            start = time.perf_counter()
            for facts in tickets:
                route(facts)
            best[index] = min(best[index], time.perf_counter() - start)
    matched = [sum(rs.route(facts).matched for facts in tickets) / len(tickets)
               for rs, tickets in zip(rulesets, ticket_lists)]
    return [(b / len(tickets), m) for b, tickets, m in zip(best, ticket_lists, matched)]


def spot_check(ruleset: RuleSet, tickets: list[TicketFacts]) -> None:
    """The indexed route() must decide like the exhaustive explain(); abort the benchmark if not."""
    for facts in tickets:
        if ruleset.route(facts) != ruleset.explain(facts)[0]:
            raise SystemExit(f"route() and explain() disagree on {facts}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tickets", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--sizes", default="1000,10000", help="generated rule counts, comma-separated")
    parser.add_argument("--baseline", metavar="REV",
                        help="also time the engine, rules and unit list of this git revision (e.g. 7630eeb)")
    parser.add_argument("--corpus", action="store_true",
                        help="with --baseline, also time the shipped set and the baseline on the texts of the labelled "
                             "dev cases (enterprises' own words: longer, with more keywords than the generated tickets)")
    args = parser.parse_args()
    rnd = random.Random(SEED)
    vocab = vocabulary()
    units = known_units()
    tickets = make_tickets(args.tickets, vocab, rnd)
    loaded: list[tuple[str, RuleSet, float]] = []
    baseline = corpus = None
    texts: list[TicketFacts] = corpus_tickets(args.tickets) if args.corpus and args.baseline else []
    if args.baseline:
        with tempfile.TemporaryDirectory(prefix="bench_routing_base_") as tmp:
            base_rules, converted, base_load = load_baseline(args.baseline, Path(tmp), tickets + texts)
            baseline = (base_rules, converted[:len(tickets)], base_load)
            corpus = (base_rules, converted[len(tickets):]) if texts else None
    start = time.perf_counter()
    shipped = RuleSet.load(known_units=units)
    loaded.append(("shipped", shipped, time.perf_counter() - start))
    spot_check(shipped, tickets[:200])
    for size in (int(s) for s in args.sizes.split(",") if s):
        with tempfile.TemporaryDirectory(prefix="bench_routing_") as tmp:
            write_generated(Path(tmp), size, vocab, random.Random(SEED + size))
            start = time.perf_counter()
            # With the corpus model, as the shipped set has it (it is built for the shipped folder by default).
            ruleset = RuleSet.load(tmp, known_units=units, learnt=True)
            loaded.append((f"+{size} generated", ruleset, time.perf_counter() - start))
        spot_check(ruleset, tickets[:50])
    # The shipped set once more, reading each decision's reasons (score breakdowns, runner-up) as storing
    # the decision with the ticket does; route() builds them on first read.
    loaded.append(("shipped, reasons", _ReadingReasons(shipped), loaded[0][2]))
    rulesets: list = [rs for _, rs, _ in loaded]
    ticket_lists: list[list] = [tickets] * len(loaded)
    if baseline is not None:
        rulesets.append(baseline[0])
        ticket_lists.append(baseline[1])
    if corpus is not None:
        rulesets += [_ReadingReasons(shipped), corpus[0]]
        ticket_lists += [texts, corpus[1]]
    timings = time_routes(rulesets, ticket_lists, args.repeat)
    corpus_timings = timings[-2:] if corpus is not None else None
    if corpus is not None:
        timings = timings[:-2]
    rows = [(name, len(rs.rules), load_s, *timing) for (name, rs, load_s), timing in zip(loaded, timings)]
    extra_rows = [rows.pop()]
    if baseline is not None:
        extra_rows.append((f"baseline {args.baseline}", len(baseline[0].rules), baseline[2], *timings[-1]))
    print_table(rows, len(tickets), len(vocab), extra_rows)
    if corpus_timings is not None:
        (shipped_per, _), (base_per, _) = corpus_timings
        ratio = shipped_per / base_per
        print(f"\non the labelled dev cases' texts ({len(corpus[1])} decisions): shipped, reasons read "
              f"{shipped_per * 1e6:.2f} µs, baseline {args.baseline} {base_per * 1e6:.2f} µs -> {ratio:.2f}x "
              f"({'PASS' if ratio <= BASELINE_RATIO else 'FAIL'} against {BASELINE_RATIO}x)")


def corpus_tickets(count: int) -> list[TicketFacts]:
    """The labelled dev cases as tickets, in file order, repeated up to `count`."""
    from routing_rules.cases import DEFAULT_CASES_DIR, load_cases
    from service.domain.reference import reference

    town_county = {t["code"]: t["county"] for t in reference().files["towns"].items}
    facts = [case.facts(town_county) for case in load_cases(DEFAULT_CASES_DIR / "dev")]
    return [facts[i % len(facts)] for i in range(count)]


class _ReadingReasons:
    """A rule set whose route() also reads the decision's reasons."""

    def __init__(self, ruleset: RuleSet) -> None:
        self.rules = ruleset.rules
        self._route = ruleset.route

    def route(self, facts: TicketFacts) -> object:
        decision = self._route(facts)
        decision.reasons  # noqa: B018
        return decision


def print_table(rows: list[tuple], tickets: int, vocab_size: int, extra_rows: list[tuple]) -> None:
    """The result table and the verdicts against the goals; extra rows (the shipped set reading reasons,
    the baseline) are shown after the others, and the last one is the baseline when one was timed."""
    base = rows[0][3]
    print(f"{tickets} tickets, best of the runs; synthetic vocabulary {vocab_size} terms; seed {SEED}")
    print(f"{'rule set':<20}| {'rule count':>10} | {'decisions/s':>12} | {'µs per decision':>15} | "
          f"{'cost vs shipped':>15} | {'matched':>7} | {'load s':>6}")
    print("-" * 104)
    for name, count, load_s, per, matched in rows + extra_rows:
        print(f"{name:<20}| {count:>10,} | {1 / per:>12,.0f} | {per * 1e6:>15.2f} | {per / base:>14.2f}x | "
              f"{matched:>6.0%} | {load_s:>6.2f}")
    largest = rows[-1]
    ratio = largest[3] / base
    verdict = "PASS" if ratio <= GOAL_RATIO else "FAIL"
    print(f"\ngoal: {largest[1]:,} rules cost at most {GOAL_RATIO:.0f}x the shipped set -> "
          f"{ratio:.2f}x ({verdict})")
    if len(extra_rows) > 1:
        base_row = extra_rows[-1]
        for name, per in (("the shipped set", base), ("with reasons read", extra_rows[0][3])):
            ratio = per / base_row[3]
            verdict = "PASS" if ratio <= BASELINE_RATIO else "FAIL"
            print(f"goal: {name} costs at most {BASELINE_RATIO}x {base_row[0]} -> {ratio:.2f}x ({verdict})")


if __name__ == "__main__":
    main()
