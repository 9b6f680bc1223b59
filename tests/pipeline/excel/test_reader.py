"""The streaming sheet reader gives the values openpyxl gives (data_only), from whatever XML a producer writes."""
from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import Workbook

from service.errors import InvalidInput
from service.pipeline.excel.reader import Limits, Sheet
from tests.support import xlsx

LIMITS = Limits(xml_bytes=1 << 20, string_chars=10_000, cell_chars=100, columns=10)
STYLES = (f'<styleSheet xmlns="{xlsx.MAIN}"><numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy/m/d h:mm"/>'
          '</numFmts><cellStyleXfs count="1"><xf numFmtId="14"/></cellStyleXfs><cellXfs count="3"><xf numFmtId="0"/>'
          '<xf numFmtId="14"/><xf numFmtId="164"/></cellXfs></styleSheet>')


def _rows(content: bytes, limits: Limits = LIMITS) -> list:
    with Sheet(content, limits) as sheet:
        return list(sheet.rows())


def test_values_types_dates_and_rich_text():
    strings = (f'<sst xmlns="{xlsx.MAIN}"><si><t>普通</t></si><si><r><rPr><b/></rPr><t>富</t></r><r><t>文本</t></r>'
               '<rPh sb="0" eb="1"><t>ふ</t></rPh></si></sst>')
    sheet = xlsx.sheet([
        '<row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>1</v></c><c r="D1" t="b"><v>1</v></c></row>',
        '<row r="3"><c r="A3"><v>13800138000</v></c><c r="B3"><v>2.5</v></c><c r="C3" s="1"><v>46328</v></c>'
        '<c r="D3" s="2"><v>46328.375</v></c><c r="E3" t="str"><f>A1&amp;"x"</f><v>普通x</v></c>'
        '<c r="F3" t="e"><v>#N/A</v></c><c r="G3" s="1"/></row>',
        '<row><c><v>1</v></c><c t="inlineStr"><is><t xml:space="preserve"> 内联 </t></is></c></row>',
    ])
    assert _rows(xlsx.workbook(sheet, strings=strings, styles=STYLES)) == [
        (1, ("普通", "富文本", None, True)),
        (3, (13800138000, 2.5, datetime(2026, 11, 2), datetime(2026, 11, 2, 9), "普通x", "#N/A")),
        (4, (1, " 内联 ")),
    ]
    # The 1904 date system shifts every serial by 1,462 days.
    one = xlsx.sheet(['<row r="1"><c r="A1" s="1"><v>44866</v></c></row>'])
    assert _rows(xlsx.workbook(one, styles=STYLES, date1904=True)) == [(1, (datetime(2026, 11, 2),))]


def test_a_workbook_written_by_openpyxl_reads_back():
    wb = Workbook()
    wb.active.append(["企业名称", 13800138000, datetime(2026, 11, 2, 9, 30), None, True, 0.5])
    wb.active.append([])
    wb.active.append([None, "第三行"])
    out = io.BytesIO()
    wb.save(out)
    assert _rows(out.getvalue()) == [(1, ("企业名称", 13800138000, datetime(2026, 11, 2, 9, 30), None, True, 0.5)),
                                     (3, (None, "第三行"))]


def test_many_small_shared_strings_count_against_the_total():
    sheet = xlsx.sheet(['<row r="1"><c r="A1" t="s"><v>0</v></c></row>'])
    # 200 empty strings cost their overhead each: 8,000 of a 10,000 budget; 300 go over it.
    assert _rows(xlsx.workbook(sheet, strings=xlsx.shared_strings(*["x"] + [""] * 199))) == [(1, ("x",))]
    with pytest.raises(InvalidInput) as exc:
        _rows(xlsx.workbook(sheet, strings=xlsx.shared_strings(*[""] * 300)))
    assert "HOTLINE_IMPORT_MAX_STRING_CHARS" in exc.value.detail[0]["message"]
