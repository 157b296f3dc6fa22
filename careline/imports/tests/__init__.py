"""Tests of the import engine. Shared builders for test files: CSV bytes in the encodings Excel produces, XLSX workbooks, cp1258."""

from __future__ import annotations

import csv
import io
import unicodedata
import zipfile
from collections.abc import Sequence
from typing import Any

import xlsxwriter

CP1258_TONES = "\u0300\u0301\u0303\u0309\u0323"


def cp1258_bytes(text: str) -> bytes:
    """Encode ``text`` the way Windows-1258 stores Vietnamese: precomposed letters where the code page
    has them, otherwise the base letter (â, ơ, ư… included) followed by a combining tone mark.

    Python's cp1258 encoder accepts neither NFC "ễ" nor NFD "e + ̂ + ̃", hence this helper.
    """
    out: list[bytes] = []
    for ch in unicodedata.normalize("NFC", text):
        try:
            out.append(ch.encode("cp1258"))
            continue
        except UnicodeEncodeError:
            pass
        decomposed = unicodedata.normalize("NFD", ch)
        base = unicodedata.normalize("NFC", "".join(c for c in decomposed if c not in CP1258_TONES))
        tones = "".join(c for c in decomposed if c in CP1258_TONES)
        out.append((base + tones).encode("cp1258"))
    return b"".join(out)


def csv_text(rows: Sequence[Sequence[Any]], delimiter: str = ",") -> str:
    buf = io.StringIO()
    csv.writer(buf, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return buf.getvalue()


def xlsx_bytes(
    sheets: dict[str, Sequence[Sequence[Any]]], *, start_row: int = 0, start_col: int = 0
) -> bytes:
    """An .xlsx with one sheet per entry; dates are written as real Excel dates (dd/mm/yyyy format)."""
    import datetime

    buf = io.BytesIO()
    workbook = xlsxwriter.Workbook(buf, {"in_memory": True})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, datetime.date):
                    sheet.write_datetime(start_row + r, start_col + c, value, date_format)
                elif isinstance(value, str):
                    sheet.write_string(start_row + r, start_col + c, value)
                else:
                    sheet.write(start_row + r, start_col + c, value)
    workbook.close()
    return buf.getvalue()


def zip_bytes(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return buf.getvalue()
