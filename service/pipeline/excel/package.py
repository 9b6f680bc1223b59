"""An .xlsx package read part by part: every part's size, string and style count is bounded before it is held."""
from __future__ import annotations

import io
import posixpath
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import IO, Any, Self
from xml.parsers import expat

from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format, is_timedelta_format
from openpyxl.utils.datetime import MAC_EPOCH, WINDOWS_EPOCH

from service.config import get_settings
from service.errors import InvalidInput, field_error

CHUNK = 64 * 1024
MAX_STYLES = 100_000  # Excel itself allows about 64,000 cell formats
STRING_OVERHEAD = 40  # what each shared string costs beside its characters (a Python str's header)
_ZIP_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError)


@dataclass(frozen=True)
class Limits:
    xml_bytes: int  # the uncompressed size of any part read (the sheet, the shared strings, the styles)
    string_chars: int  # all shared strings together
    cell_chars: int  # one string
    columns: int  # the last column that holds a value

    @classmethod
    def from_settings(cls) -> Limits:
        s = get_settings()
        return cls(s.import_max_xml_bytes, s.import_max_string_chars, s.import_max_cell_chars, s.import_max_columns)


def refuse(message: str) -> InvalidInput:
    """A 422 on the `file` field."""
    return field_error("file", message)


def column_letter(index: int) -> str:
    """1 -> A, 16384 -> XFD."""
    out = ""
    while index:
        index, rem = divmod(index - 1, 26)
        out = chr(65 + rem) + out
    return out


def local_name(name: str) -> str:
    """An element or attribute name without its namespace."""
    return name.rpartition("}")[2]


def _no_dtd(*_: Any) -> None:
    # An .xlsx never declares a DTD; refusing one rules out entity expansion (billion laughs) entirely.
    raise refuse("the workbook's XML declares a DTD or entities, which .xlsx files never do")


class Package:
    """An opened zip archive whose XML parts are parsed as streams, within the limits."""

    def __init__(self, source: Path | str | bytes | IO[bytes], limits: Limits | None = None):
        self.limits = limits or Limits.from_settings()
        try:
            self._zip = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
        except _ZIP_ERRORS:
            raise refuse("not an .xlsx workbook (not a zip archive)") from None
        self._parts = {i.filename.lower().lstrip("/"): i for i in self._zip.infolist()}

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_: Any) -> None:
        self._zip.close()

    def _part(self, name: str) -> zipfile.ZipInfo | None:
        return self._parts.get(name.lower().lstrip("/"))

    def _chunks(self, name: str) -> Iterator[bytes]:
        info, limit = self._part(name), self.limits.xml_bytes
        too_big = f"{info.filename} unpacks to more than {limit} bytes (the limit, HOTLINE_IMPORT_MAX_XML_BYTES)"
        if info.file_size > limit:  # declared in the zip directory: refused before a byte is inflated
            raise refuse(too_big)
        read = 0
        try:
            with self._zip.open(info) as part:
                while chunk := part.read(CHUNK):
                    read += len(chunk)
                    if read > limit:  # zipfile stops at the declared size; this holds even if it did not
                        raise refuse(too_big)
                    yield chunk
        except _ZIP_ERRORS as exc:
            raise refuse(f"{info.filename} cannot be unpacked ({exc.__class__.__name__}: {exc})") from None

    def _parse(self, name: str, start: Callable, end: Callable | None = None,
               text: Callable | None = None) -> Iterator[None]:
        """Feed one part to expat chunk by chunk, yielding after each chunk (so rows can stream out)."""
        parser = expat.ParserCreate(namespace_separator="}")
        parser.buffer_text = True
        parser.StartElementHandler = start
        if end:
            parser.EndElementHandler = end
        if text:
            parser.CharacterDataHandler = text
        parser.StartDoctypeDeclHandler = parser.EntityDeclHandler = _no_dtd
        try:
            for chunk in self._chunks(name):
                parser.Parse(chunk, False)
                yield
            parser.Parse(b"", True)
        except expat.ExpatError as exc:
            raise refuse(f"{self._part(name).filename} is not well-formed XML (line {exc.lineno}, column "
                         f"{exc.offset}: {expat.ErrorString(exc.code)})") from None
        yield

    def _run(self, name: str, start: Callable, end: Callable | None = None, text: Callable | None = None) -> None:
        for _ in self._parse(name, start, end, text):
            pass

    def _rels(self, base: str, name: str) -> dict[str, list]:
        """Relationship targets by type (the last word of its URI); worksheets as (id, target) under 'worksheet@'."""
        out: dict[str, list] = {}
        if self._part(name) is None:
            return out

        def start(tag: str, attrs: dict) -> None:
            if local_name(tag) != "Relationship" or attrs.get("TargetMode") == "External" or not attrs.get("Target"):
                return
            target = attrs["Target"]
            path = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join(base, target))
            kind = attrs.get("Type", "").rpartition("/")[2].lower()
            out.setdefault(kind, []).append(path)
            if kind == "worksheet":
                out.setdefault("worksheet@", []).append((attrs.get("Id"), path))

        self._run(name, start)
        return out

    def _workbook(self, name: str) -> tuple[list[str], datetime]:
        ids, epoch = [], [WINDOWS_EPOCH]

        def start(tag: str, attrs: dict) -> None:
            local = local_name(tag)
            if local == "sheet":
                ids.append(next((v for k, v in attrs.items() if local_name(k) == "id" and k != "sheetId"), None))
            elif local == "workbookPr" and attrs.get("date1904") in ("1", "true"):
                epoch[0] = MAC_EPOCH

        self._run(name, start)
        return ids, epoch[0]

    def _styles(self, name: str) -> set[int]:
        """The indexes of the cell formats that show a number as a date."""
        custom: dict[int, str] = {}
        formats: list[int] = []
        where = {"cellXfs": False}

        def start(tag: str, attrs: dict) -> None:
            local = local_name(tag)
            if local == "numFmt" and len(custom) < MAX_STYLES:
                custom[as_int(attrs.get("numFmtId"), "numFmtId")] = attrs.get("formatCode", "")
            elif local == "cellXfs":
                where["cellXfs"] = True
            elif local == "xf" and where["cellXfs"]:
                if len(formats) >= MAX_STYLES:
                    raise refuse(f"more than {MAX_STYLES} cell formats")
                formats.append(as_int(attrs.get("numFmtId", "0"), "numFmtId"))

        def end(tag: str) -> None:
            if local_name(tag) == "cellXfs":
                where["cellXfs"] = False

        self._run(name, start, end)
        out = set()
        for index, fmt_id in enumerate(formats):
            code = custom.get(fmt_id) or BUILTIN_FORMATS.get(fmt_id) or ""
            if is_date_format(code) and not is_timedelta_format(code):
                out.add(index)
        return out

    def _shared_strings(self, name: str) -> list[str]:
        strings: list[str] = []
        state = {"parts": [], "size": 0, "in_t": False, "phonetic": 0, "budget": self.limits.string_chars}
        cell_chars = self.limits.cell_chars

        def start(tag: str, attrs: dict) -> None:
            local = local_name(tag)
            if local == "t":
                state["in_t"] = True
            elif local == "rPh":  # phonetic guide text is not part of the value
                state["phonetic"] += 1
            elif local == "si":
                state["parts"], state["size"] = [], 0

        def end(tag: str) -> None:
            local = local_name(tag)
            if local == "t":
                state["in_t"] = False
            elif local == "rPh":
                state["phonetic"] -= 1
            elif local == "si":
                state["budget"] -= state["size"] + STRING_OVERHEAD
                if state["budget"] < 0:
                    raise refuse(f"the shared strings hold more than {self.limits.string_chars} characters (the "
                                 f"limit, HOTLINE_IMPORT_MAX_STRING_CHARS); split the file")
                strings.append("".join(state["parts"]).replace("x005F_", ""))

        def text(data: str) -> None:
            if state["in_t"] and not state["phonetic"]:
                state["size"] += len(data)
                if state["size"] > cell_chars:
                    raise refuse(too_long(cell_chars, f"shared string {len(strings)}"))
                state["parts"].append(data)

        self._run(name, start, end, text)
        return strings


def too_long(limit: int, what: str) -> str:
    return f"{what} is longer than {limit} characters (the limit, HOTLINE_IMPORT_MAX_CELL_CHARS)"


def as_int(raw: str | None, what: str) -> int:
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise refuse(f"{what} {raw!r} is not a number") from None
