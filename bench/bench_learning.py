"""Suggestion accuracy as dispatchers correct routing: a simulated history on the routing corpus.

The dev cases, in a fixed order (their ids), are dispatched by hand one after another; every --step corrections the
model is retrained (service/pipeline/suggest.py, with each kind's remit as its prior, as in production) and its top
kind is measured on the test split, which it never trains on. In-process: no database or server.

    .venv/bin/python bench/bench_learning.py [--step 25]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from routing_rules.cases import DEFAULT_CASES_DIR, load_cases  # noqa: E402
from service.pipeline.suggest import Example, KindModel, remit_examples  # noqa: E402


def _example(case) -> Example:
    return Example(case.title, case.description, case.request_type, case.category, case.channel, case.lead)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--step", type=int, default=25, help="retrain after this many corrections")
    args = parser.parse_args()
    dev = sorted(load_cases(DEFAULT_CASES_DIR / "dev"), key=lambda c: c.id)
    test = load_cases(DEFAULT_CASES_DIR / "test")
    prior = remit_examples()
    print(f"dev {len(dev)} cases dispatched by hand in id order; test {len(test)} cases; "
          f"{len(prior)} unit kinds' remits as prior")
    print(f"{'corrections':>11} {'accuracy':>9} {'conf>=0.8':>10} {'right there':>12} {'train s':>8}")
    marks = list(range(0, len(dev), args.step)) + [len(dev)]
    for n in marks:
        started = time.perf_counter()
        model = KindModel.fit([_example(c) for c in dev[:n]], prior=prior)
        seconds = time.perf_counter() - started
        if model is None:
            print(f"{n:>11} {'-':>9} {'-':>10} {'-':>12} {seconds:>8.2f}")
            continue
        preds = [(model.predict(c.title, c.description, c.request_type, c.category, c.channel), c.lead) for c in test]
        right = sum(k == lead for (k, _), lead in preds)
        sure = [(k == lead) for (k, p), lead in preds if p >= 0.8]
        sure_acc = f"{sum(sure) / len(sure):.1%}" if sure else "-"
        print(f"{n:>11} {right / len(test):>9.1%} {len(sure) / len(test):>10.1%} {sure_acc:>12} {seconds:>8.2f}")


if __name__ == "__main__":
    main()
