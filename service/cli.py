"""The `hotline` command: run the stack, migrate, seed, manage users, check and explain rules."""
from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Optional

import typer

from models import Role
from service.config import get_settings

app = typer.Typer(help="Enterprise service hotline (涉企问题一表通管).", no_args_is_help=True)
user_app = typer.Typer(help="Users.", no_args_is_help=True)
rules_app = typer.Typer(help="Routing rules.", no_args_is_help=True)
app.add_typer(user_app, name="user")
app.add_typer(rules_app, name="rules")
ops_app = typer.Typer(help="Deadlines, clocks, flags, notifications and statistics.", no_args_is_help=True)
app.add_typer(ops_app, name="ops")
knowledge_app = typer.Typer(help="The knowledge base (知识库).", no_args_is_help=True)
app.add_typer(knowledge_app, name="knowledge")
enterprises_app = typer.Typer(help="Enterprises and the enterprise roster.", no_args_is_help=True)
app.add_typer(enterprises_app, name="enterprises")


def _configure_servers() -> tuple[str, str]:
    """Resolve (or start) the servers and pin their URLs for this process and its children."""
    from service.db import reset_engine
    from service.embedded import ensure_servers

    db_url, redis_url = ensure_servers(get_settings())
    os.environ["HOTLINE_DATABASE_URL"], os.environ["HOTLINE_REDIS_URL"] = db_url, redis_url
    get_settings.cache_clear()
    reset_engine()
    return db_url, redis_url


def _require_secrets() -> None:
    """Exit 2 with the reason when the secrets are missing or unfit (HOTLINE_DEV_MODE lets a development run go
    on, with a warning)."""
    from service.credentials import MissingSecrets, require_secrets

    try:
        require_secrets(get_settings())
    except MissingSecrets as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def _session():
    from service.db import session_factory

    return session_factory()()


@app.command()
def migrate() -> None:
    """Apply the database migrations."""
    from service.migrate import upgrade

    db_url, _ = _configure_servers()
    upgrade(db_url)
    typer.echo("database is at the latest migration")


@app.command()
def seed(demo: Annotated[bool, typer.Option(help="also demo users and tickets")] = False) -> None:
    """Load the reference data (idempotent) and, with --demo, demo users and tickets."""
    _configure_servers()
    _seed(demo)


def _seed(demo: bool) -> None:
    from service import demo as demo_data
    from service.domain.reference import seed_reference

    with _session() as session:
        written = seed_reference(session)
        session.commit()
        typer.echo("reference data: " + (", ".join(f"{k} {v}" for k, v in written.items()) or "up to date"))
        if demo:
            users = demo_data.seed_demo_users(session)
            session.commit()
            typer.echo(f"knowledge: {demo_data.seed_demo_knowledge(session)}")
            session.commit()
            loaded = demo_data.seed_demo_roster(session)
            session.commit()
            typer.echo("roster: " + ", ".join(f"{k} {v}" for k, v in loaded.items() if k != "rejected"))
            created = demo_data.seed_demo_tickets(session)
            session.commit()
            worked = demo_data.progress_demo_tickets(session, created)
            session.commit()
            typer.echo(f"demo: {len(users)} users, {len(created)} tickets created"
                       + (f", worked through: {worked}" if worked else ""))
            demo_data.route_waiting(session)
            session.commit()


@app.command()
def api(host: Optional[str] = None, port: Optional[int] = None, workers: Optional[int] = None) -> None:
    """Serve the HTTP API."""
    import uvicorn

    _require_secrets()
    _configure_servers()
    settings = get_settings()
    uvicorn.run("service.app:app", host=host or settings.api_host, port=port or settings.api_port,
                workers=workers or settings.api_workers, log_level="info")


@app.command()
def worker(burst: Annotated[bool, typer.Option(help="exit when the queues are empty")] = False) -> None:
    """Run an RQ worker (routing and background jobs)."""
    from workers.runner import run_worker

    _require_secrets()
    _configure_servers()
    logging.basicConfig(level=logging.INFO)
    run_worker(burst=burst)


@app.command()
def scheduler() -> None:
    """Run the scheduler that enqueues the periodic sweeps."""
    from workers.runner import run_scheduler

    _require_secrets()
    _configure_servers()
    logging.basicConfig(level=logging.INFO)
    run_scheduler()


@app.command()
def up(demo: Annotated[bool, typer.Option(help="load demo users and tickets")] = True,
       port: Optional[int] = None) -> None:
    """Everything on one machine: servers, migrations, seed, API, one worker, the scheduler. Ctrl-C stops all."""
    from service.embedded import stop_embedded
    from service.migrate import upgrade

    from service.credentials import use_embedded_secrets

    configured = get_settings().model_copy()
    # Secrets not set explicitly are generated on the first run, kept owner-only under data_dir, and reused;
    # the environment hands them to the children.
    secrets_path = use_embedded_secrets(configured)
    _require_secrets()
    from service.scrape import use_embedded_token

    use_embedded_token(get_settings())  # /metrics answers only to its token
    # Counters from this process (the demo seeding), the API, worker and scheduler are added up by /metrics:
    # the directory must be named before the first metric is made.
    metrics_dir = (configured.data_dir / "metrics").resolve()
    shutil.rmtree(metrics_dir, ignore_errors=True)
    metrics_dir.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(metrics_dir)
    db_url, _ = _configure_servers()
    upgrade(db_url)
    _seed(demo)
    settings = get_settings()
    port = port or settings.api_port
    cli = [sys.executable, "-m", "service.cli"]
    procs = [
        subprocess.Popen([*cli, "api", "--port", str(port)]),
        subprocess.Popen([*cli, "worker"]),
        subprocess.Popen([*cli, "scheduler"]),
    ]
    _wait_until_ready(settings.api_host, port, procs[0])
    _banner(settings, port, demo, secrets_path)
    stopping = {"now": False}
    signal.signal(signal.SIGTERM, lambda *_: stopping.update(now=True))
    try:
        while not stopping["now"] and all(p.poll() is None for p in procs):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        typer.echo("stopping ...")
        for p in procs:
            if p.poll() is None:
                # SIGTERM, not a second SIGINT: after Ctrl-C in a terminal the children already have one, and a
                # second SIGINT makes uvicorn abandon its graceful shutdown.
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
        stop_embedded(configured)
        typer.echo("stopped")


def _wait_until_ready(host: str, port: int, api: subprocess.Popen, timeout: float = 60) -> None:
    """The banner says the service is running: wait until the API answers /readyz (or its process ended)."""
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and api.poll() is None:
        try:
            with urllib.request.urlopen(f"http://{host}:{port}/readyz", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.2)


def _banner(settings, port: int, demo: bool, secrets_path: Path) -> None:
    from service.demo import DEMO_PASSWORD, DEMO_USERS

    host = settings.api_host
    lines = [f"hotline is running at http://{host}:{port}", f"  API docs: http://{host}:{port}/docs",
             f"  dashboard: http://{host}:{port}/dashboard",
             f"  console:  http://{host}:{port}/console",
             f"  data:     {settings.data_dir.resolve()}", f"  secrets:  {secrets_path} (owner-only)",
             f"  metrics:  http://{host}:{port}/metrics with 'Authorization: Bearer {settings.metrics_token}'"]
    if demo:
        lines.append(f"  demo logins (password {DEMO_PASSWORD}):")
        lines += [f"    {u:<11} {r.value:<10} {unit or ''}" for u, r, unit, _ in DEMO_USERS]
    lines.append("Ctrl-C stops everything.")
    typer.echo("\n".join(lines))


@user_app.command("add")
def user_add(username: str, role: Annotated[Role, typer.Option()], unit: Optional[str] = None,
             password: Annotated[Optional[str], typer.Option(help="prompted for when omitted")] = None,
             name: str = "") -> None:
    """Add a user: hotline user add NAME --role handler --unit tc.yueqing_liushi."""
    from service.errors import DomainError
    from service.security.users import create_user

    _configure_servers()
    password = password or typer.prompt("password", hide_input=True, confirmation_prompt=True)
    with _session() as session:
        try:
            user = create_user(session, username=username, password=password, role=role, unit_code=unit,
                               display_name=name)
            session.commit()
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        typer.echo(f"user {user.username} ({user.role}{', ' + user.unit_code if user.unit_code else ''}) added")


def _named_user(session, username: str):
    from sqlalchemy import select

    from models import User

    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        typer.echo(f"error: no user {username!r}", err=True)
        raise typer.Exit(1)
    return user


def _set_active(username: str, active: bool) -> None:
    from service.security.users import set_active

    _configure_servers()
    with _session() as session:
        user = _named_user(session, username)
        set_active(session, user, active)
        session.commit()
    typer.echo(f"user {username} {'activated' if active else 'deactivated'}")


@user_app.command("deactivate")
def user_deactivate(username: str) -> None:
    """Deactivate a user: it can no longer log in and its tokens stop working."""
    _set_active(username, False)


@user_app.command("activate")
def user_activate(username: str) -> None:
    """Let a deactivated user log in again."""
    _set_active(username, True)


@user_app.command("password")
def user_password(username: str,
                  password: Annotated[Optional[str], typer.Option(help="prompted for when omitted")] = None,
                  generate: Annotated[bool, typer.Option(help="generate one and print it")] = False) -> None:
    """Set a user's password (its tokens stop working): hotline user password NAME [--generate]."""
    from service.errors import DomainError
    from service.security.users import new_password, set_password

    _configure_servers()
    if generate:
        password = new_password()
    password = password or typer.prompt("new password", hide_input=True, confirmation_prompt=True)
    with _session() as session:
        user = _named_user(session, username)
        try:
            set_password(session, user, password)
        except DomainError as exc:
            typer.echo(f"error: {exc.detail}", err=True)
            raise typer.Exit(1) from None
        session.commit()
    typer.echo(f"password of {username} set" + (f": {password}" if generate else ""))


@rules_app.command("check")
def rules_check(directory: Annotated[Optional[Path], typer.Argument()] = None) -> None:
    """Validate rule files; every error is printed with file and line. Exit 1 when any."""
    from routing_rules import check
    from service.domain.reference import known_unit_codes
    from service.pipeline.route import rules_dir

    directory = directory or rules_dir()
    errors = check(directory, known_units=known_unit_codes())
    for err in errors:
        typer.echo(str(err), err=True)
    if errors:
        typer.echo(f"{len(errors)} error(s) in {directory}", err=True)
        raise typer.Exit(1)
    from routing_rules import RuleSet

    rs = RuleSet.load(directory, known_units=known_unit_codes())
    typer.echo(f"ok: {len(rs.rules)} rules, version {rs.version}")


@rules_app.command("explain")
def rules_explain(
    title: Annotated[str, typer.Option()] = "", description: Annotated[str, typer.Option()] = "",
    channel: str = "hotline_96666", category: Optional[str] = None, request_type: str = "help",
    urgency: str = "normal", county: Optional[str] = None, town: Optional[str] = None,
    tier: Optional[str] = None, chain: Optional[str] = None, directory: Optional[Path] = None,
    registered_by_town_centre: Annotated[bool, typer.Option("--registered-by-town-centre")] = False,
    answered_locally: Annotated[bool, typer.Option("--answered-locally")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False, all_rules: Annotated[bool, typer.Option("--all")] = False,
) -> None:
    """Show which rule would route a ticket like this, why it beat the runner-up, and why the others did not match."""
    from routing_rules import RuleSet
    from routing_rules.scoring import comparison
    from service.domain.reference import known_unit_codes
    from service.pipeline.route import preview_facts, rules_dir
    from service.schemas.routing import PreviewIn

    body = PreviewIn(channel=channel, category=category, request_type=request_type, urgency=urgency, county=county,
                     town=town, enterprise_tier=tier, enterprise_chain=chain, title=title, description=description,
                     registered_by_town_centre=registered_by_town_centre, answered_locally=answered_locally)
    rs = RuleSet.load(directory or rules_dir(), known_units=known_unit_codes())
    decision, trace = rs.explain(preview_facts(body))
    if as_json:
        typer.echo(json.dumps({"decision": decision.to_dict(), "comparison": comparison(decision.reasons),
                               "trace": [t.to_dict() for t in trace]}, ensure_ascii=False, indent=2))
        return
    if decision.matched:
        typer.echo(f"规则 rule {decision.rule_id}（优先级 priority {decision.priority}，{decision.rule_file}）-> "
                   f"主办 lead {decision.lead_unit}，协办 assisting {list(decision.assisting_units)}")
        learnt = decision.reasons.get("learnt")
        if learnt:
            overridden = decision.reasons["overridden"]
            typer.echo(f"语料模型 corpus model {learnt['model_version']}: {learnt['why']}")
            typer.echo("  概率 probabilities: " + "，".join(f"{p['kind']} {p['p']:.2f}" for p in learnt["probabilities"]))
            typer.echo("  依据 evidence: " + "、".join(f"{e['feature']} {e['weight']:g}" for e in learnt["evidence"]))
            typer.echo(f"  被取代的规则 overridden rule {overridden['rule_id']} -> {overridden['lead_unit']}，"
                       f"得分 {_score_text(overridden['score'])}")
        else:
            for line in _score_lines(decision.reasons):
                typer.echo(line)
    else:
        typer.echo("没有规则命中 no rule matched: 工单转派单员 the ticket goes to pending_dispatch for a dispatcher")
    for note in decision.reasons.get("guards") or []:
        typer.echo(f"守护 guard {note['guard']}: {note['unit']} {note['effect']}")
    typer.echo(f"规则集版本 rule set version {decision.ruleset_version}")
    for t in trace:
        if all_rules or t.matched:
            score = f"{t.score:>8.4f}" if t.score is not None else " " * 8
            typer.echo(f"  {'MATCH' if t.matched else 'no   '} {t.rule_id:<32} p{t.priority:<5} {score} {t.failed or ''}")


def _score_text(score: dict) -> str:
    """One score as 总分 = 优先级 + 条件 + 关键词 (each keyword with where it was found and its weight)."""
    places = {"title": "标题", "description": "描述"}
    words = "；".join(f"{k['keyword']} {places.get(k['in'], k['in'])} {k['weight']:g}" for k in score["keywords"])
    conditions = "、".join(score["conditions"]) or "无"
    kw = round(sum(k["weight"] for k in score["keywords"]), 4)
    return (f"{score['total']:g} = 优先级 {score['priority']:g} + 条件 {score['conditions_weight']:g}（{conditions}）"
            f" + 关键词 {kw:g}（{words or '无'}）")


def _score_lines(reasons: dict) -> list[str]:
    """The winner's score, the runner-up's, and where the winner gained its lead, in plain text."""
    from routing_rules.scoring import comparison

    lines = [f"得分 score {_score_text(reasons['score'])}"]
    runner = reasons.get("runner_up")
    if not runner:
        return lines + ["次优 runner-up: 无（只有这一条规则命中）"]
    lines.append(f"次优 runner-up {runner['rule_id']}（优先级 {runner['priority']}）-> {runner['lead_unit']}，"
                 f"得分 {_score_text(runner['score'])}")
    cmp = comparison(reasons)
    parts = {"priority": "优先级", "conditions": "条件", "keywords": "关键词"}
    diff = "，".join(f"{parts[k]} {v:+g}" for k, v in cmp["difference"].items() if v)
    lines.append(f"胜出原因 why: 领先 {cmp['margin']:g} 分（{diff or '同分，按优先级和文件顺序'}）")
    if cmp["winner_only_keywords"]:
        lines.append(f"  只有胜出规则命中的词: {'、'.join(cmp['winner_only_keywords'])}")
    if cmp["runner_up_only_keywords"]:
        lines.append(f"  只有次优规则命中的词: {'、'.join(cmp['runner_up_only_keywords'])}")
    return lines


def _labelled_cases(cases: Path | None) -> tuple[list, dict[str, str], dict[str, str]]:
    """The labelled cases of a file or folder (default the dev split), with each unit's kind and each town's
    county; exit 1 naming the problem when the cases cannot be read."""
    from routing_rules.cases import DEFAULT_CASES_DIR, CaseError, load_cases
    from service.domain.reference import reference

    try:
        loaded = load_cases(cases or DEFAULT_CASES_DIR / "dev")
    except CaseError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    ref = reference()
    return (loaded, {u["code"]: u["kind"] for u in ref.files["units"].items},
            {t["code"]: t["county"] for t in ref.files["towns"].items})


@rules_app.command("evaluate")
def rules_evaluate(
    cases: Annotated[Optional[Path], typer.Argument(help="a case file or folder (default routing_rules/cases/dev)")] = None,
    directory: Optional[Path] = None, as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Route labelled cases: accuracy, hand-dispatch share, confusion table by unit kind, and every miss."""
    from routing_rules import RuleSet
    from routing_rules.measure import evaluate_cases
    from service.domain.reference import known_unit_codes
    from service.pipeline.route import rules_dir

    loaded, unit_kind, town_county = _labelled_cases(cases)
    rs = RuleSet.load(directory or rules_dir(), known_units=known_unit_codes())
    report = evaluate_cases(rs, loaded, unit_kind, town_county)
    if as_json:
        typer.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
        return
    for line in report.lines():
        typer.echo(line)


@rules_app.command("cross-validate")
def rules_cross_validate(
    cases: Annotated[Optional[Path], typer.Argument(help="a case file or folder (default routing_rules/cases/dev)")] = None,
    directory: Optional[Path] = None, as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Choose the corpus model's numbers (routing_rules/learnt.yaml) by cross-validation on labelled cases."""
    from routing_rules import RuleSet
    from routing_rules.cases import DEFAULT_CASES_DIR
    from routing_rules.learnt import cross_validate, load_settings
    from service.domain.reference import known_unit_codes
    from service.pipeline.route import rules_dir

    if "test" in (cases or DEFAULT_CASES_DIR / "dev").resolve().parts:
        typer.echo("error: the test split is never used to choose anything", err=True)
        raise typer.Exit(1)
    loaded, unit_kind, town_county = _labelled_cases(cases)
    rs = RuleSet.load(directory or rules_dir(), known_units=known_unit_codes(), learnt=False)
    result = cross_validate(rs, loaded, unit_kind, town_county, load_settings())
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False, indent=2))
        return
    n = result["cases"]
    typer.echo(f"{n} cases, {result['folds']} folds (each case file held out whole: "
               f"file i in fold i mod {result['folds']})")
    typer.echo(f"模型单独 model alone: {result['model_correct']}/{n} with alpha {result['alpha']:g}, "
               f"prior_weight {result['prior_weight']:g}; temperature {result['temperature']:g} (log loss)")
    typer.echo(f"只用规则 rules alone: {result['rules_alone_correct']}/{n}")
    for row in result["by_threshold"]:
        typer.echo(f"  threshold {row['threshold']:<5g} rules + model {row['correct']}/{n} "
                   f"({row['correct'] / n:.1%}), decided by the model {row['decided_by_model']}")
    typer.echo(f"chosen: alpha {result['alpha']:g}, prior_weight {result['prior_weight']:g}, "
               f"temperature {result['temperature']:g}, threshold {result['threshold']:g}")


@ops_app.command("recompute-deadlines")
def recompute_deadlines() -> None:
    """Recount provisional deadlines (run once the new year's official calendar is installed)."""
    from service.pipeline.actions import recompute_provisional_deadlines

    _configure_servers()
    with _session() as session:
        changed = recompute_provisional_deadlines(session)
        session.commit()
    typer.echo(f"{changed} ticket(s) had their deadlines recounted")


@ops_app.command("verify-clocks")
def verify_clocks(limit: int = 10000) -> None:
    """Recompute clocks from the event history and report tickets whose stored clocks differ."""
    from service.pipeline.clocks import verify

    _configure_servers()
    with _session() as session:
        checked, differing = verify(session, limit=limit)
    typer.echo(f"checked {checked} ticket(s); {len(differing)} differ" + (f": {differing[:20]}" if differing else ""))
    if differing:
        raise typer.Exit(1)


@ops_app.command("verify-stats")
def verify_stats(
    start: Annotated[Optional[str], typer.Option("--from", help="first day, YYYY-MM-DD (default: all history)")] = None,
    end: Annotated[Optional[str], typer.Option("--to", help="last day, YYYY-MM-DD (default: all history)")] = None,
    limit: Annotated[int, typer.Option(help="differing cells printed at most")] = 200,
) -> None:
    """Compare the statistics rollups with a direct count of the events; print the differing cells (exit 1)."""
    from datetime import date

    from service.pipeline.stats.verify import report_stats_drift, verify

    try:
        first, last = (value and date.fromisoformat(value) for value in (start, end))
    except ValueError as exc:
        raise typer.BadParameter(f"{exc}; expected YYYY-MM-DD") from None
    _configure_servers()
    with _session() as session:
        drifts = verify(session, first, last)
    report_stats_drift(drifts)
    for drift in drifts[:limit]:
        typer.echo(str(drift))
    typer.echo(f"{len(drifts)} rollup cell(s) differ from a direct count")
    if drifts:
        raise typer.Exit(1)


@ops_app.command("sweep")
def sweep() -> None:
    """Raise due 催办 / 督办 flags now (the scheduler does this every sweep interval)."""
    from service.db import unit
    from service.pipeline.sweeps import raise_flags

    _configure_servers()
    with unit() as uow:
        counts = raise_flags(uow)
        uow.commit()  # then the notifications it queued are delivered
    typer.echo(json.dumps(counts, ensure_ascii=False))


@ops_app.command("retry-notifications")
def retry_notifications() -> None:
    """Give notifications that ran out of attempts a fresh round."""
    from service.pipeline.notify import retry_failed

    _configure_servers()
    with _session() as session:
        count = retry_failed(session)
        session.commit()
    typer.echo(f"{count} notification(s) queued again")


def import_file(path: str | Path, mapping_json: str | None = None, dry_run: bool = False,
                channel: str = "town_centre", username: str | None = None) -> dict:
    """What `hotline import FILE.xlsx` runs: import, commit (the unit then enqueues routing), print the report as
    JSON. A dry run commits nothing."""
    from service.db import unit
    from service.pipeline.excel.sheet_import import import_file as import_sheet

    with unit() as uow:
        result = import_sheet(uow, path, mapping_json=mapping_json, dry_run=dry_run, channel=channel,
                              username=username)
        if not dry_run:
            uow.commit()
    report = result.report()
    typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
    return report


@app.command("import")
def import_(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx file")],
            mapping: Annotated[Optional[str], typer.Option(help='JSON {"表头": "field"} for unusual headers')] = None,
            dry_run: Annotated[bool, typer.Option("--dry-run", help="validate only; write nothing")] = False,
            channel: Annotated[str, typer.Option(help="channel of rows without a 渠道 column")] = "town_centre",
            username: Annotated[Optional[str], typer.Option("--user", help="recorded as the registrar")] = None,
            ) -> None:
    """Import problems kept in a spreadsheet; prints the report. Re-importing the same rows creates nothing twice."""
    from service.errors import DomainError

    _configure_servers()
    try:
        report = import_file(path, mapping, dry_run, channel, username)
    except DomainError as exc:
        typer.echo(f"error: {json.dumps(exc.detail, ensure_ascii=False)}", err=True)
        raise typer.Exit(1) from None
    if report["rejected"]:
        raise typer.Exit(1)


@enterprises_app.command("import")
def enterprises_import(path: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help=".xlsx or .csv file")]
                       ) -> None:
    """Load the enterprise roster (企业名称, 统一社会信用代码, 所属镇街, 产业链, 企业梯队, 是否规上); prints the report
    as JSON, exit 1 when a row was rejected. Importing the same file again changes nothing."""
    from service.db import unit
    from service.errors import DomainError
    from service.pipeline import roster

    _configure_servers()
    try:
        with unit() as uow:
            result = roster.import_roster(uow, roster.read_roster(path.read_bytes()))
            uow.commit()
    except DomainError as exc:
        typer.echo(f"error: {json.dumps(exc.detail, ensure_ascii=False)}", err=True)
        raise typer.Exit(1) from None
    typer.echo(json.dumps(result.report(), ensure_ascii=False, indent=2))
    if result.rejected:
        raise typer.Exit(1)


@knowledge_app.command("load")
def knowledge_load(path: Annotated[Optional[Path], typer.Argument(
        exists=True, dir_okay=False, help="YAML file of entries (default: the starter set)")] = None) -> None:
    """Load knowledge articles and reply templates, matched on their key; loading again changes nothing."""
    from service.pipeline import knowledge

    _configure_servers()
    with _session() as session:
        try:
            report = knowledge.load(session, path or knowledge.STARTER)
        except ValueError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(1) from None
        session.commit()
    typer.echo(f"knowledge: {report}")


if __name__ == "__main__":
    app()
