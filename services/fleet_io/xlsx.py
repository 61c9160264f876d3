"""A small streaming XLSX writer for one typed table: text, booleans, money, a frozen bold
header row, column widths and an autofilter.

openpyxl's write-only mode spends ~0.2 ms a row in its XML serialiser (without lxml): 50,000
lines of 19 columns took 11 s and more under load. This writes the same SpreadsheetML by hand,
row by row into the zip, about eight times faster. Files are read back with openpyxl in the
tests; reading imports still uses openpyxl.
"""

from __future__ import annotations

import time
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import BinaryIO
from xml.sax.saxutils import escape, quoteattr

from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.utils import get_column_letter

TEXT, BOOL, MONEY = "text", "bool", "money"
NUMBER = "number"  # a plain number (counts, minutes, megabytes)
MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
HEAD = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
SHEET_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml"

CONTENT_TYPES = (
    HEAD + '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
    'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
    f'<Override PartName="/xl/workbook.xml" ContentType="{SHEET_TYPE}.sheet.main+xml"/>'
    f'<Override PartName="/xl/worksheets/sheet1.xml" ContentType="{SHEET_TYPE}.worksheet+xml"/>'
    f'<Override PartName="/xl/styles.xml" ContentType="{SHEET_TYPE}.styles+xml"/></Types>'
)
ROOT_RELS = (
    HEAD + f'<Relationships xmlns="{PKG_REL}"><Relationship Id="rId1" '
    f'Type="{REL}/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK_RELS = (
    HEAD + f'<Relationships xmlns="{PKG_REL}">'
    f'<Relationship Id="rId1" Type="{REL}/worksheet" Target="worksheets/sheet1.xml"/>'
    f'<Relationship Id="rId2" Type="{REL}/styles" Target="styles.xml"/></Relationships>'
)
# Cell formats: 0 plain, 1 header (bold on a light fill), 2 money (built-in "#,##0.00").
STYLES = (
    HEAD + f'<styleSheet xmlns="{MAIN}">'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="3"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill>'
    '<fill><patternFill patternType="solid"><fgColor rgb="FFD9EFF1"/><bgColor indexed="64"/>'
    "</patternFill></fill></fills>"
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="2" borderId="0" xfId="0" applyFont="1" applyFill="1"/>'
    '<xf numFmtId="4" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    "</cellXfs>"
    '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
    "</styleSheet>"
)


def _text(value: str) -> str:
    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("", value)
    return escape(value)


def write(
    out: BinaryIO,
    sheet_title: str,
    headers: Sequence[str],
    kinds: Sequence[str],
    widths: Sequence[int],
    rows: Iterable[Sequence],
) -> int:
    """Write the table to ``out``; returns the number of data rows."""
    letters = [get_column_letter(i + 1) for i in range(len(headers))]
    title = ILLEGAL_CHARACTERS_RE.sub("", sheet_title).translate(str.maketrans("", "", "'[]:*?/\\"))
    title = title[:31] or "Sheet1"
    count = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=5) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES)
        zf.writestr("_rels/.rels", ROOT_RELS)
        zf.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        zf.writestr("xl/styles.xml", STYLES)
        sheet = zipfile.ZipInfo("xl/worksheets/sheet1.xml", time.localtime()[:6])
        sheet.compress_type = zipfile.ZIP_DEFLATED
        with zf.open(sheet, "w", force_zip64=True) as raw:
            cols = "".join(
                f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                for i, w in enumerate(widths, start=1)
            )
            raw.write(
                (
                    HEAD + f'<worksheet xmlns="{MAIN}" xmlns:r="{REL}">'
                    '<sheetViews><sheetView workbookViewId="0">'
                    '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                    '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
                    '</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>'
                    f"<cols>{cols}</cols><sheetData>"
                    '<row r="1">'
                    + "".join(
                        f'<c r="{c}1" s="1" t="inlineStr"><is><t>{_text(h)}</t></is></c>'
                        for c, h in zip(letters, headers, strict=True)
                    )
                    + "</row>"
                ).encode()
            )
            columns = list(zip(letters, kinds, strict=True))
            chunk: list[str] = []
            for row in rows:
                count += 1
                r = count + 1
                cells = [f'<row r="{r}">']
                for (letter, kind), value in zip(columns, row, strict=True):
                    if value is None or value == "":
                        continue
                    if kind == BOOL:
                        cells.append(f'<c r="{letter}{r}" t="b"><v>{1 if value else 0}</v></c>')
                    elif kind == MONEY:
                        cells.append(f'<c r="{letter}{r}" s="2"><v>{Decimal(value):f}</v></c>')
                    elif kind == NUMBER:
                        cells.append(f'<c r="{letter}{r}"><v>{Decimal(value):f}</v></c>')
                    else:
                        cells.append(
                            f'<c r="{letter}{r}" t="inlineStr"><is><t xml:space="preserve">'
                            f"{_text(str(value))}</t></is></c>"
                        )
                cells.append("</row>")
                chunk.append("".join(cells))
                if len(chunk) >= 1000:
                    raw.write("".join(chunk).encode())
                    chunk = []
            last = f"A1:{letters[-1]}{count + 1}"
            raw.write(
                ("".join(chunk) + f'</sheetData><autoFilter ref="{last}"/></worksheet>').encode()
            )
        sheet_ref = escape(f"'{title}'!$A$1:${letters[-1]}${count + 1}")
        zf.writestr(
            "xl/workbook.xml",
            HEAD + f'<workbook xmlns="{MAIN}" xmlns:r="{REL}"><sheets>'
            f'<sheet name={quoteattr(title)} sheetId="1" r:id="rId1"/></sheets><definedNames>'
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
            f"{sheet_ref}</definedName></definedNames></workbook>",
        )
    return count
