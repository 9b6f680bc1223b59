"""Read a directory of rule files into one ordered, validated list of rules."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from .guards import Guards
from .model import Rule, RuleError
from .parse import FileContext, ParsedRule, parse_file
from .vocab import bureau_kinds

DEFAULT_RULES_DIR = Path(__file__).resolve().parent / "rules"
RULE_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True)
class LoadResult:
    """Rules in evaluation order, every error found, and the content version."""

    rules: list[Rule]
    errors: list[RuleError]
    version: str


def rule_files(directory: Path) -> list[Path]:
    """The rule files of a directory, in the order they are read (sorted by file name)."""
    found = [p for p in directory.iterdir() if p.suffix in RULE_SUFFIXES and p.is_file()]
    return sorted(found, key=lambda p: p.name)


def load_directory(directory: Path, known_units: frozenset[str], guards: Guards | None = None) -> LoadResult:
    """Parse and validate every rule file; never raises for problems in the files' content.

    `guards` names the signals rules may require; its digest is part of the version.
    """
    signals = guards.names if guards is not None else frozenset()
    if not directory.is_dir():
        return LoadResult([], [RuleError(str(directory), 0, None, "rule directory not found")], "")
    files = rule_files(directory)
    if not files:
        return LoadResult([], [RuleError(str(directory), 0, None, "no *.yaml rule files")], "")
    digest = hashlib.sha256()
    if guards is not None:
        digest.update(f"guards\0{guards.digest}\0".encode())
    kinds = bureau_kinds(known_units)
    errors: list[RuleError] = []
    parsed: list[tuple[int, str, ParsedRule]] = []
    for index, path in enumerate(files):
        ctx = FileContext(str(path), path.name, known_units, kinds, signals)
        data = _read(path, ctx)
        # Name and length are hashed too, so renaming or re-splitting files changes the version.
        digest.update(f"{path.name}\0{len(data)}\0".encode() + data)
        text = _decode(data, ctx)
        if text is not None:
            parsed.extend((index, str(path), p) for p in parse_file(ctx, text))
        errors.extend(ctx.errors)
    errors.extend(_duplicate_ids(parsed))
    order = {str(path): index for index, path in enumerate(files)}
    errors.sort(key=lambda e: (order.get(e.file, -1), e.line))
    rules = [p.rule for _, _, p in parsed if p.rule is not None]
    file_index = {path.name: index for index, path in enumerate(files)}
    rules.sort(key=lambda r: (-r.priority, file_index[r.file], r.position))
    return LoadResult(rules, errors, digest.hexdigest()[:12])


def _read(path: Path, ctx: FileContext) -> bytes:
    """The file's bytes; an unreadable file is reported like any other error."""
    try:
        return path.read_bytes()
    except OSError as exc:
        ctx.error(0, None, f"cannot read file: {exc.strerror or exc}")
        return b""


def _decode(data: bytes, ctx: FileContext) -> str | None:
    """UTF-8 text (a BOM is tolerated, editors on Windows add one)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        ctx.error(line, None, f"file is not valid UTF-8 ({exc.reason})")
        return None


def _duplicate_ids(parsed: list[tuple[int, str, ParsedRule]]) -> list[RuleError]:
    """One error per repeated id, pointing back at the first definition."""
    first: dict[str, tuple[str, int]] = {}
    errors = []
    for _, path, p in parsed:
        if p.rule_id is None:
            continue
        if p.rule_id in first:
            where = "{}:{}".format(*first[p.rule_id])
            message = f"duplicate id '{p.rule_id}' (first defined at {where})"
            errors.append(RuleError(path, p.line, p.rule_id, message))
        else:
            first[p.rule_id] = (path, p.line)
    return errors
