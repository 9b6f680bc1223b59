"""The first sheet of an .xlsx as a stream of rows, values as openpyxl gives them; each column bounded."""
from __future__ import annotations

import posixpath
import re
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from openpyxl.utils.datetime import from_excel

from service.pipeline.excel.package import Limits, Package, as_int, column_letter, local_name, refuse, too_long

_CELL_REF = re.compile(r"([A-Z]{1,3})([0-9]*)$")


class Sheet(Package):
    """An opened workbook: structure checked, date styles and (bounded) shared strings read; rows() streams."""

    def __init__(self, source: Path | str | bytes | IO[bytes], limits: Limits | None = None):
        super().__init__(source, limits)
        try:
            self._open()
        except BaseException:
            self._zip.close()
            raise

    def _open(self) -> None:
        book = self._rels("", "_rels/.rels").get("officedocument")
        if not book or self._part(book[0]) is None:
            raise refuse("not an .xlsx workbook (no workbook part)")
        book = book[0]
        rels = self._rels(posixpath.dirname(book), f"{posixpath.dirname(book)}/_rels/{posixpath.basename(book)}.rels")
        sheet_ids, self._epoch = self._workbook(book)
        sheets = {rid: target for rid, target in rels.get("worksheet@", [])}
        first = next((sheets[rid] for rid in sheet_ids if rid in sheets), None)
        if first is None or self._part(first) is None:
            raise refuse("the workbook has no worksheet")
        self._sheet = first
        styles = rels.get("styles")
        self._date_styles = self._styles(styles[0]) if styles and self._part(styles[0]) else set()
        strings = rels.get("sharedstrings")
        self._strings = self._shared_strings(strings[0]) if strings and self._part(strings[0]) else []

    def rows(self) -> Iterator[tuple[int, tuple]]:
        """(sheet row number, values) of every row the sheet lists, in order; the tuple ends at the row's last value."""
        done: list[tuple[int, tuple]] = []
        row = _RowBuilder(self, done)
        for _ in self._parse(self._sheet, row.start, row.end, row.text):
            yield from done
            done.clear()

    def value(self, kind: str | None, style: int, raw: str, ref: str) -> Any:
        """A cell's value as openpyxl gives it with data_only (cached formula results, dates as datetime)."""
        if kind == "s":
            index = as_int(raw, f"cell {ref}")
            if not 0 <= index < len(self._strings):
                raise refuse(f"cell {ref} names shared string {index}, which does not exist")
            return self._strings[index]
        if kind in ("inlineStr", "str", "e"):
            return raw
        if kind == "b":
            return raw.strip() in ("1", "true")
        if kind == "d":
            try:
                return datetime.fromisoformat(raw.strip())
            except ValueError:
                return raw
        try:
            number = int(raw) if raw.strip().lstrip("-").isdigit() else float(raw)
        except ValueError:
            return raw
        if style in self._date_styles:
            try:
                return from_excel(number, self._epoch)
            except (OverflowError, ValueError):
                return number
        return number


class _RowBuilder:
    """expat handlers for sheetData: collects each row's valued cells, refusing columns past the limit."""

    def __init__(self, sheet: Sheet, done: list):
        self.sheet, self.done = sheet, done
        self.number, self.col, self.cells = 0, 0, {}
        self.cell: dict | None = None
        self.capture, self.phonetic = False, 0

    def start(self, tag: str, attrs: dict) -> None:
        local = local_name(tag)
        if local == "row":
            self.number = as_int(attrs["r"], "row number") if "r" in attrs else self.number + 1
            self.col, self.cells = 0, {}
        elif local == "c":
            ref = attrs.get("r")
            match = _CELL_REF.match(ref) if ref else None
            if ref and not match:
                raise refuse(f"cell reference {ref!r} is not a cell reference")
            self.col = _column(match.group(1)) if match else self.col + 1
            self.cell = {"t": attrs.get("t"), "s": as_int(attrs.get("s", "0"), "cell style"), "parts": [], "size": 0,
                         "ref": ref or f"{column_letter(self.col)}{self.number}"}
        elif local == "v" or (local == "t" and self.cell is not None and self.cell["t"] == "inlineStr"):
            self.capture = self.cell is not None
        elif local == "rPh":
            self.phonetic += 1

    def end(self, tag: str) -> None:
        local = local_name(tag)
        if local in ("v", "t"):
            self.capture = False
        elif local == "rPh":
            self.phonetic -= 1
        elif local == "c" and self.cell is not None:
            cell, self.cell = self.cell, None
            if not cell["parts"]:
                return  # a styled empty cell: no value, whatever its column
            value = self.sheet.value(cell["t"], cell["s"], "".join(cell["parts"]), cell["ref"])
            if value is None or value == "":
                return
            limit = self.sheet.limits.columns
            if self.col > limit:
                raise refuse(f"cell {cell['ref']} holds a value beyond column {column_letter(limit)} ({limit} columns, "
                             f"the limit, HOTLINE_IMPORT_MAX_COLUMNS)")
            self.cells[self.col] = value
        elif local == "row":  # a row without values comes out empty, so a reader looking for a header can stop
            values = [None] * max(self.cells, default=0)
            for col, value in self.cells.items():
                values[col - 1] = value
            self.done.append((self.number, tuple(values)))
            self.cells = {}

    def text(self, data: str) -> None:
        if self.capture and not self.phonetic:
            self.cell["size"] += len(data)
            if self.cell["size"] > self.sheet.limits.cell_chars:
                raise refuse(too_long(self.sheet.limits.cell_chars, f"cell {self.cell['ref']}"))
            self.cell["parts"].append(data)


def _column(letters: str) -> int:
    index = 0
    for ch in letters:
        index = index * 26 + ord(ch) - 64
    return index
