"""Workbooks built by hand with zipfile: whatever a sheet declares or holds, small on disk."""
from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable
from xml.sax.saxutils import escape

from openpyxl.utils import get_column_letter

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
       'content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
       '<Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType='
       '"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/'
       'worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
       '{strings}</Types>')
_CT_STRINGS = ('<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.'
               'spreadsheetml.sharedStrings+xml"/>')
_PR = '<workbookPr date1904="1"/>'
HEADER = ["企业名称", "统一社会信用代码", "联系人", "联系电话", "镇街", "诉求类型", "标题", "诉求内容"]


def cell(ref: str, value) -> str:
    if isinstance(value, int | float):
        return f'<c r="{ref}"><v>{value}</v></c>'
    return f'<c r="{ref}" t="inlineStr"><is><t>{escape(str(value))}</t></is></c>'


def row(number: int, values: Iterable, first_column: int = 1) -> str:
    cells = "".join(cell(f"{get_column_letter(first_column + i)}{number}", v) for i, v in enumerate(values)
                    if v is not None)
    return f'<row r="{number}">{cells}</row>'


def ticket_values(n: int, uscc: str) -> list:
    return [f"手工{n}有限公司", uscc, "张三", "13900000000", "柳市镇", "求助", f"断电问题{n}", f"第{n}号车间断电，请协调。"]


def sheet(rows: Iterable[str], dimension: str | None = None) -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{MAIN}">{dim}<sheetData>{"".join(rows)}</sheetData></worksheet>'


def workbook(sheet_xml: str | bytes | None, *, strings: str | bytes | None = None,
             big: dict[str, tuple[bytes, bytes, bytes, int]] | None = None, with_workbook: bool = True,
             styles: str | None = None, date1904: bool = False) -> bytes:
    """An .xlsx: the sheet XML (and shared strings); big parts are (head, repeated chunk, tail, times), streamed."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        has_strings = strings is not None or "xl/sharedStrings.xml" in (big or {})
        zf.writestr("[Content_Types].xml", _CT.format(strings=_CT_STRINGS if has_strings else ""))
        zf.writestr("_rels/.rels", f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}"><Relationship '
                                   f'Id="rId1" Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
        if with_workbook:
            zf.writestr("xl/workbook.xml", f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{MAIN}" '
                                           f'xmlns:r="{REL}">{_PR if date1904 else ""}<sheets><sheet name="台账" sheetId="1" r:id="rId1"/>'
                                           f'</sheets></workbook>')
        zf.writestr("xl/_rels/workbook.xml.rels",
                    f'<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="{PKG}">'
                    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
                    f'<Relationship Id="rId2" Type="{REL}/sharedStrings" Target="sharedStrings.xml"/>'
                    + (f'<Relationship Id="rId3" Type="{REL}/styles" Target="/xl/styles.xml"/>' if styles else "")
                    + '</Relationships>')
        if styles is not None:
            zf.writestr("xl/styles.xml", styles)
        if sheet_xml is not None:
            zf.writestr("xl/worksheets/sheet1.xml", sheet_xml)
        if strings is not None:
            zf.writestr("xl/sharedStrings.xml", strings)
        for name, (head, chunk, tail, times) in (big or {}).items():
            with zf.open(name, "w", force_zip64=True) as part:
                part.write(head)
                for _ in range(times):
                    part.write(chunk)
                part.write(tail)
    return out.getvalue()


def shared_strings(*values: str) -> str:
    items = "".join(f"<si><t>{escape(v)}</t></si>" for v in values)
    return f'<?xml version="1.0" encoding="UTF-8"?><sst xmlns="{MAIN}" count="{len(values)}">{items}</sst>'
