"""Read an uploaded customer list (CSV, XLSX or vCard) into a :class:`Table` of header texts and cells.

The type is decided by the content, not by the file name alone: an ``.xlsx`` is a ZIP holding
``xl/workbook.xml``, a vCard starts with ``BEGIN:VCARD`` and a CSV is text with a delimiter. CSV text
may come in UTF-8 (with or without BOM), UTF-16 (Excel's "Unicode text", tab-separated) or
Windows-1258 (old Vietnamese Windows exports, with tone marks stored as combining characters); when
the encoding is a guess, :attr:`Table.encoding_confident` is False and the UI should ask.

Pure Python (no Django): limits such as the maximum upload size are passed in by the caller.
"""

from __future__ import annotations

import codecs
import csv
import datetime
import io
import quopri
import re
import unicodedata
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field

__all__ = ["Cell", "ImportFileError", "Table", "read_table"]

Cell = str | int | float | datetime.date | datetime.datetime | None

MB = 1024 * 1024
DEFAULT_MAX_BYTES = 50 * MB
DEFAULT_MAX_ROWS = 1_000_000
DEFAULT_MAX_UNCOMPRESSED = 500 * MB
MAX_ZIP_MEMBERS = 10_000
MAX_COMPRESSION_RATIO = 200
# Tiny members (XML stubs) can compress very well without being dangerous; the ratio is checked above this.
RATIO_CHECK_MIN_SIZE = 1 * MB

DELIMITERS = (",", ";", "\t", "|")
TEXT_EXTENSIONS = (".csv", ".txt", ".tsv", ".tab")
# Names under which a delimited text file may arrive (renamed exports, downloads without extension).
SNIFFABLE_EXTENSIONS = ("", ".dat", ".xls", ".xlsx", ".vcf", ".vcard", ".prn")
UNCERTAIN_CANDIDATES = ["cp1258", "cp1252", "latin-1"]

# Tone marks that Windows-1258 stores as separate combining characters.
CP1258_TONE_MARKS = frozenset("\u0300\u0301\u0303\u0309\u0323")
_VIETNAMESE_VOWELS = frozenset("aeiouyăâêôơưAEIOUYĂÂÊÔƠƯ")
_VIETNAMESE_ONLY_LETTERS = frozenset("ăđơưĂĐƠƯ")

_BINARY_SIGNATURES: tuple[tuple[bytes, str], ...] = (
    (b"%PDF", "a PDF document"),
    (b"\x89PNG", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"),
    (b"BM", "a bitmap image"),
    (b"RIFF", "a media file"),
    (b"MZ", "a Windows program"),
    (b"\x7fELF", "a program"),
    (b"Rar!", "a RAR archive"),
    (b"\x1f\x8b", "a gzip archive"),
    (b"7z\xbc\xaf", "a 7-Zip archive"),
    (b"{\\rtf", "an RTF document"),
)
_MARKUP_STARTS = ("<?php", "<?xml", "<!doctype", "<html", "<head", "<body", "<script", "<table", "<?")
_OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")

_CODES = (
    "unsupported_type",
    "too_large",
    "zip_bomb",
    "unreadable",
    "encoding_unknown",
    "empty",
    "too_many_rows",
)


class ImportFileError(ValueError):
    """An uploaded file that cannot be imported; ``code`` says why and ``message`` says it to the user."""

    def __init__(self, code: str, message: str) -> None:
        if code not in _CODES:
            raise ValueError(f"Unknown ImportFileError code {code!r}.")
        super().__init__(code, message)  # both in args, so the error pickles (task queues) intact
        self.code = code
        self.message = message

    def __str__(self) -> str:
        return self.message


@dataclass
class Table:
    """A file read as a grid: header texts and the data rows below the header row.

    Text cells are NFC-normalised and stripped; empty cells are None. Spreadsheet cells keep their
    types (int, float, bool, date, datetime); whole-number floats become int. Every row has exactly
    ``len(headers)`` cells. ``header_row`` is the 1-based spreadsheet row (CSV record) of the header,
    so data row ``i`` (0-based) is row ``header_row + 1 + i`` for the user.
    """

    headers: list[str]
    rows: list[list[Cell]]
    format: str
    encoding: str | None = None
    encoding_confident: bool = True
    encoding_candidates: list[str] = field(default_factory=list)
    sheet: str | None = None
    sheets: list[str] = field(default_factory=list)
    delimiter: str | None = None
    header_row: int = 1


def read_table(
    data: bytes,
    *,
    filename: str,
    encoding: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
) -> Table:
    """Read an uploaded file into a :class:`Table`, or raise :class:`ImportFileError`.

    ``encoding`` overrides the detected text encoding (CSV and vCard); ``sheet`` picks an XLSX sheet
    by name (default: the first one).
    """
    if len(data) > max_bytes:
        raise ImportFileError(
            "too_large",
            f"The file is {_mb(len(data))} MB; files up to {_mb(max_bytes)} MB can be imported. "
            "Split it into smaller files.",
        )
    if not data.strip():
        raise ImportFileError("empty", "The file is empty.")
    extension = _extension(filename)
    head = data[:16]

    if head.startswith(_ZIP_MAGICS):
        return _read_zip(data, extension, sheet, max_rows, max_uncompressed)
    if head.startswith(_OLE2_MAGIC):
        raise ImportFileError(
            "unsupported_type",
            "This is an old Excel .xls file (or a password-protected workbook): open it in Excel and save "
            "it as .xlsx (Excel Workbook, without a password), then upload it again.",
        )
    for signature, what in _BINARY_SIGNATURES:
        if head.startswith(signature):
            raise ImportFileError("unsupported_type", f"This file is {what}. {_SUPPORTED}")

    text, used, confident, candidates = _decode(data, encoding)
    if "\x00" in text:
        raise ImportFileError("unsupported_type", f"This is not a text or spreadsheet file. {_SUPPORTED}")
    start = text.lstrip()[:200]
    if start[:11].upper() == "BEGIN:VCARD":
        table = _read_vcf(text, max_rows)
    elif start.lower().startswith(_MARKUP_STARTS):
        raise ImportFileError(
            "unsupported_type",
            f"This file is a web page or program code, not a list of customers. {_SUPPORTED}",
        )
    elif extension in TEXT_EXTENSIONS or (extension in SNIFFABLE_EXTENSIONS and _has_delimiter(text)):
        table = _read_csv(text, max_rows)
    else:
        raise ImportFileError("unsupported_type", f"Files like “{filename}” cannot be imported. {_SUPPORTED}")
    table.encoding = used
    table.encoding_confident = confident
    table.encoding_candidates = candidates
    return table


@dataclass
class Outline:
    """What an upload needs to know of a file before its columns are mapped: the header texts, the number
    of data rows, the format; ``table`` when the file had to be read row by row anyway."""

    headers: list[str]
    rows: int
    format: str
    table: Table | None = None


def read_outline(
    data: bytes,
    *,
    filename: str,
    encoding: str | None = None,
    sheet: str | None = None,
    max_bytes: int = DEFAULT_MAX_BYTES,
    max_rows: int = DEFAULT_MAX_ROWS,
    max_uncompressed: int = DEFAULT_MAX_UNCOMPRESSED,
) -> Outline:
    """:func:`read_table`'s checks and its headers and row count; an XLSX is read column-wise (no Python
    cells: careline.imports.columnar), any other file, or a sheet the column reader does not take, by
    :func:`read_table`. Raises :class:`ImportFileError` as read_table does."""
    if len(data) <= max_bytes and data[:16].startswith(_ZIP_MAGICS):
        from careline.imports import columnar

        _check_xlsx_zip(data, _extension(filename), max_uncompressed)
        found = columnar.xlsx_outline(data, sheet)
        if found is not None and found[0] and found[1]:
            headers, rows = found
            if rows > max_rows:
                raise _too_many_rows(max_rows)
            return Outline(headers=headers, rows=rows, format="xlsx")
    table = read_table(
        data,
        filename=filename,
        encoding=encoding,
        sheet=sheet,
        max_bytes=max_bytes,
        max_rows=max_rows,
        max_uncompressed=max_uncompressed,
    )
    return Outline(headers=table.headers, rows=len(table.rows), format=table.format, table=table)


_SUPPORTED = "Upload a CSV file, an Excel workbook (.xlsx) or contacts exported as vCard (.vcf)."


def _mb(n: int) -> str:
    """``n`` bytes in MB for messages: whole numbers without decimals."""
    value = n / MB
    return f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"


def _extension(filename: str) -> str:
    """Lower-case extension with its dot ("" when none) of the last path component of ``filename``."""
    name = re.split(r"[\\/]", filename or "")[-1]
    dot = name.rfind(".")
    return name[dot:].lower() if dot > 0 else ""


# --- text encodings --------------------------------------------------------------------------------


def _decode(data: bytes, encoding: str | None) -> tuple[str, str, bool, list[str]]:
    """Decode ``data``; return (NFC text, encoding used, confident?, candidate encodings to offer)."""
    if encoding:
        try:
            codec = codecs.lookup(encoding)
        except LookupError as exc:
            raise ImportFileError("encoding_unknown", f"“{encoding}” is not a known text encoding.") from exc
        if codec.name in ("utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be"):
            data = _strip_bom(data)
        try:
            text = data.decode(codec.name)
        except UnicodeDecodeError as exc:
            raise ImportFileError(
                "unreadable",
                f"The file cannot be read as {encoding}: byte {exc.start + 1} is not valid in that encoding. "
                "Choose another encoding.",
            ) from exc
        return _nfc_text(text), encoding, True, [encoding]

    if data.startswith(codecs.BOM_UTF8):
        return _nfc_text(data[3:].decode("utf-8", errors="replace")), "utf-8-sig", True, ["utf-8-sig"]
    for bom, name in ((codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be")):
        if data.startswith(bom):
            return _nfc_text(data[2:].decode(name, errors="replace")), name, True, [name]
    utf16 = _utf16_without_bom(data)
    if utf16 is not None:
        return _nfc_text(data.decode(utf16, errors="replace")), utf16, True, [utf16]
    try:
        return _nfc_text(data.decode("utf-8")), "utf-8", True, ["utf-8"]
    except UnicodeDecodeError:
        pass

    cp1258 = data.decode("cp1258", errors="replace")
    good = bad = 0
    previous = ""
    for ch in cp1258:
        if ch in CP1258_TONE_MARKS:
            if previous in _VIETNAMESE_VOWELS:
                good += 1
            else:
                bad += 1
        previous = ch
    vietnamese_letters = any(ch in _VIETNAMESE_ONLY_LETTERS for ch in cp1258)
    if good and not bad:
        return _nfc_text(cp1258), "cp1258", True, ["cp1258"]
    if good > bad or (vietnamese_letters and not bad):
        return _nfc_text(cp1258), "cp1258", False, list(UNCERTAIN_CANDIDATES)
    candidates = ["cp1252", "cp1258", "latin-1"]
    try:
        return _nfc_text(data.decode("cp1252")), "cp1252", False, candidates
    except UnicodeDecodeError:
        return _nfc_text(data.decode("latin-1")), "latin-1", False, candidates


def _strip_bom(data: bytes) -> bytes:
    for bom in (codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE):
        if data.startswith(bom):
            return data[len(bom) :]
    return data


def _utf16_without_bom(data: bytes) -> str | None:
    """Recognise UTF-16 without a BOM by its NUL bytes: mostly-ASCII text has one in every pair."""
    sample = data[:4096]
    if len(sample) < 8 or len(sample) % 2:
        sample = sample[: len(sample) - len(sample) % 2]
    pairs = len(sample) // 2
    if pairs < 4:
        return None
    odd_zeros = sample[1::2].count(0)
    even_zeros = sample[0::2].count(0)
    if odd_zeros > pairs * 0.6 and even_zeros == 0:
        return "utf-16-le"
    if even_zeros > pairs * 0.6 and odd_zeros == 0:
        return "utf-16-be"
    return None


def _nfc_text(text: str) -> str:
    """NFC the whole text at once (cheaper than per cell) and drop a leading BOM character."""
    text = text.removeprefix("\ufeff")
    if not unicodedata.is_normalized("NFC", text):
        text = unicodedata.normalize("NFC", text)
    return text


# --- CSV -------------------------------------------------------------------------------------------


def _sample_lines(text: str, limit: int = 50) -> list[str]:
    """The first non-empty lines of ``text`` (at most 64 KB), without a cut-off last line."""
    sample = text[:65536]
    lines = sample.splitlines()
    if len(sample) == 65536 and len(lines) > 1:
        lines = lines[:-1]
    return [line for line in lines if line.strip()][:limit]


def _field_counts(lines: list[str], delimiter: str) -> list[int]:
    try:
        return [len(row) for row in csv.reader(lines, delimiter=delimiter) if row]
    except csv.Error:
        return []


def _detect_delimiter(text: str) -> str | None:
    """Pick the delimiter among , ; TAB | that splits the header and most lines into the same >1 fields."""
    lines = _sample_lines(text)
    best: tuple[int, int, int] = (0, 0, 0)
    chosen: str | None = None
    for priority, delimiter in enumerate(reversed(DELIMITERS)):
        counts = _field_counts(lines, delimiter)
        if not counts or counts[0] < 2:
            continue
        agreeing = sum(1 for n in counts if n == counts[0])
        score = (agreeing, counts[0], priority)
        if score > best:
            best, chosen = score, delimiter
    return chosen


def _has_delimiter(text: str) -> bool:
    return _detect_delimiter(text) is not None


def _clean_text_cell(value: str) -> str | None:
    value = value.strip()
    return value or None


def _lines(text: str) -> Iterator[str]:
    """The lines of ``text`` for csv.reader, ends kept, as ``io.StringIO(text, newline="")`` gives them — without
    StringIO's copy of the whole text (4 bytes a character: 280 MB for a 70 MB file of Vietnamese)."""
    if "\r" in text and text.count("\r") != text.count("\r\n"):  # old Mac line ends: let StringIO split
        yield from io.StringIO(text, newline="")
        return
    start = 0
    find = text.find
    while True:
        end = find("\n", start)
        if end < 0:
            if start < len(text):
                yield text[start:]
            return
        yield text[start : end + 1]
        start = end + 1


def _read_csv(text: str, max_rows: int) -> Table:
    delimiter = _detect_delimiter(text) or ","
    reader = csv.reader(_lines(text), delimiter=delimiter)
    raw_rows: list[list[Cell]] = []
    header: list[Cell] | None = None
    header_row = 0
    last_content = -1
    try:
        for record_number, record in enumerate(reader, start=1):
            cells: list[Cell] = [_clean_text_cell(c) for c in record]
            if header is None:
                if any(cells):
                    header, header_row = cells, record_number
                continue
            raw_rows.append(cells)
            if any(cells):
                last_content = len(raw_rows) - 1
                if last_content >= max_rows:
                    raise _too_many_rows(max_rows)
    except csv.Error as exc:
        raise ImportFileError(
            "unreadable", f"The CSV file cannot be read (row {reader.line_num}): {exc}."
        ) from exc
    if header is None:
        raise ImportFileError("empty", "The file is empty.")
    del raw_rows[last_content + 1 :]
    headers, rows = _rectangular(header, raw_rows)
    if not rows:
        raise ImportFileError("empty", "The file has a header row but no data rows.")
    return Table(headers=headers, rows=rows, format="csv", delimiter=delimiter, header_row=header_row)


def _too_many_rows(max_rows: int) -> ImportFileError:
    return ImportFileError(
        "too_many_rows", f"The file has more than {max_rows:,} rows; split it into smaller files."
    )


def _rectangular(header: list[Cell], rows: list[list[Cell]]) -> tuple[list[str], list[list[Cell]]]:
    """Header texts and rows of exactly that width.

    Trailing empty header cells are dropped unless some row has data below them; columns without a
    header text are called "Column N" (1-based) so they can still be mapped.
    """
    width = len(header)
    while width and header[width - 1] is None:
        width -= 1
    for row in rows:
        if len(row) > width:
            extra = len(row)
            while extra > width and row[extra - 1] is None:
                extra -= 1
            width = max(width, extra)
    headers = [
        _header_text(header[i]) if i < len(header) and header[i] is not None else f"Column {i + 1}"
        for i in range(width)
    ]
    out: list[list[Cell]] = []
    for row in rows:
        if len(row) < width:
            row = row + [None] * (width - len(row))
        elif len(row) > width:
            row = row[:width]
        out.append(row)
    return headers, out


def _header_text(value: Cell) -> str:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return " ".join(str(value).split())


# --- XLSX ------------------------------------------------------------------------------------------


def _read_zip(data: bytes, extension: str, sheet: str | None, max_rows: int, max_uncompressed: int) -> Table:
    _check_xlsx_zip(data, extension, max_uncompressed)
    return _read_xlsx(data, sheet, max_rows)


def _check_xlsx_zip(data: bytes, extension: str, max_uncompressed: int) -> None:
    """Refuse a ZIP that is not an XLSX workbook, or that would expand to too much, before parsing it."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        if extension == ".xlsx":
            raise ImportFileError(
                "unreadable", "The Excel file is damaged or incomplete; save it again and re-upload."
            ) from exc
        raise ImportFileError("unsupported_type", f"This is a damaged archive. {_SUPPORTED}") from exc
    _check_zip_bomb(infos, max_uncompressed)
    names = {info.filename for info in infos}
    if "xl/workbook.xml" not in names:
        if "content.xml" in names and "mimetype" in names:
            raise ImportFileError(
                "unsupported_type",
                "This is an OpenDocument spreadsheet (.ods): save it as .xlsx (Excel Workbook) and upload "
                "it again.",
            )
        if "word/document.xml" in names:
            raise ImportFileError("unsupported_type", f"This is a Word document. {_SUPPORTED}")
        raise ImportFileError("unsupported_type", f"This is a ZIP archive, not a spreadsheet. {_SUPPORTED}")


def _check_zip_bomb(infos: list[zipfile.ZipInfo], max_uncompressed: int) -> None:
    """Refuse archives that would expand to too much data, before anything is decompressed."""
    message = "This file expands to far more data than a spreadsheet of that size can hold; it was refused."
    if len(infos) > MAX_ZIP_MEMBERS:
        raise ImportFileError("zip_bomb", message)
    if sum(info.file_size for info in infos) > max_uncompressed:
        raise ImportFileError("zip_bomb", message)
    for info in infos:
        if info.file_size > RATIO_CHECK_MIN_SIZE and (
            info.compress_size == 0 or info.file_size / info.compress_size > MAX_COMPRESSION_RATIO
        ):
            raise ImportFileError("zip_bomb", message)


def _read_xlsx(data: bytes, sheet: str | None, max_rows: int) -> Table:
    from python_calamine import CalamineWorkbook

    try:
        workbook = CalamineWorkbook.from_filelike(io.BytesIO(data))
        sheets = list(workbook.sheet_names)
        if not sheets:
            raise ImportFileError("empty", "The workbook has no sheets.")
        name = sheets[0] if sheet is None else sheet
        if name not in sheets:
            raise ImportFileError(
                "unreadable",
                f"The workbook has no sheet “{sheet}”; its sheets are: {', '.join(sheets)}.",
            )
        worksheet = workbook.get_sheet_by_name(name)
        header: list[Cell] | None = None
        header_row = 0
        rows: list[list[Cell]] = []
        last_content = -1
        _str, normalize, convert = str, unicodedata.normalize, _xlsx_cell
        for row_number, raw in enumerate(worksheet.iter_rows(), start=1):
            # _xlsx_cell inlined for text, most of the cells
            cells = [
                ((v.strip() or None) if v.isascii() else (normalize("NFC", v.strip()) or None))
                if v.__class__ is _str
                else convert(v)
                for v in raw
            ]
            if header is None:
                if cells.count(None) != len(cells):
                    header, header_row = cells, row_number
                continue
            rows.append(cells)
            if cells.count(None) != len(cells):
                last_content = len(rows) - 1
                if last_content >= max_rows:
                    raise _too_many_rows(max_rows)
    except ImportFileError:
        raise
    except Exception as exc:  # calamine raises several error types (ZipError, XmlError, CalamineError…)
        raise ImportFileError(
            "unreadable", f"The Excel file cannot be read ({type(exc).__name__}); save it again as .xlsx."
        ) from exc
    if header is None:
        raise ImportFileError("empty", f"The sheet “{name}” is empty.")
    del rows[last_content + 1 :]
    headers, rows = _rectangular(header, rows)
    if not rows:
        raise ImportFileError("empty", f"The sheet “{name}” has a header row but no data rows.")
    return Table(headers=headers, rows=rows, format="xlsx", sheet=name, sheets=sheets, header_row=header_row)


def _xlsx_cell(value: object) -> Cell:
    """Convert one calamine value: strings NFC and stripped ("" → None), 912345678.0 → 912345678."""
    if isinstance(value, str):
        value = value.strip()
        if not value:
            return None
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if isinstance(value, float):
        if value.is_integer():
            return int(value)
        return value
    if isinstance(value, int | datetime.date):  # bool, int, date and datetime are kept as they are
        return value
    if isinstance(value, datetime.time):
        return value.isoformat()
    if value is None:
        return None
    return str(value)


# --- vCard -----------------------------------------------------------------------------------------

_VCARD_SKIP = frozenset({"PHOTO", "LOGO", "SOUND", "KEY"})
_BDAY = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:T.*)?")


@dataclass
class _Card:
    full_name: str | None = None
    structured_name: str | None = None
    phones: list[str] = field(default_factory=list)
    emails: list[str] = field(default_factory=list)
    birthday: Cell = None
    organization: str | None = None
    title: str | None = None
    address: str | None = None
    note: str | None = None

    def is_empty(self) -> bool:
        return not (
            self.full_name
            or self.structured_name
            or self.phones
            or self.emails
            or self.birthday
            or self.organization
            or self.title
            or self.address
            or self.note
        )


def _unfold(text: str) -> list[str]:
    """Join folded lines (continuations start with a space or tab) and quoted-printable soft breaks."""
    logical: list[str] = []
    for line in text.splitlines():
        if logical and line[:1] in (" ", "\t"):
            previous = logical[-1]
            if _is_quoted_printable(previous) and previous.endswith("="):
                logical[-1] = previous[:-1] + line.lstrip(" \t")
            else:
                logical[-1] = previous + line[1:]
        elif logical and _is_quoted_printable(logical[-1]) and logical[-1].endswith("="):
            logical[-1] = logical[-1][:-1] + line
        else:
            logical.append(line)
    return logical


def _is_quoted_printable(line: str) -> bool:
    head = line.split(":", 1)[0]
    return "QUOTED-PRINTABLE" in head.upper()


def _split_escaped(value: str, separator: str) -> list[str]:
    """Split a vCard value on unescaped ``separator`` and undo the escapes \\, \\; \\n \\\\."""
    parts: list[str] = []
    current: list[str] = []
    i = 0
    while i < len(value):
        ch = value[i]
        if ch == "\\" and i + 1 < len(value):
            nxt = value[i + 1]
            current.append("\n" if nxt in "nN" else nxt)
            i += 2
            continue
        if ch == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
        i += 1
    parts.append("".join(current))
    return parts


def _unescape(value: str) -> str:
    return _split_escaped(value, "\x00")[0]


def _parse_property(line: str) -> tuple[str, dict[str, list[str]], str] | None:
    """Split ``GROUP.NAME;PARAM=V;BARE:value`` into (NAME, params, value); None for non-property lines."""
    colon = -1
    quoted = False
    for i, ch in enumerate(line):
        if ch == '"':
            quoted = not quoted
        elif ch == ":" and not quoted:
            colon = i
            break
    if colon <= 0:
        return None
    head, value = line[:colon], line[colon + 1 :]
    parts = head.split(";")
    name = parts[0].rsplit(".", 1)[-1].strip().upper()
    params: dict[str, list[str]] = {}
    for part in parts[1:]:
        key, eq, val = part.partition("=")
        if eq:
            params.setdefault(key.strip().upper(), []).extend(
                v.strip().strip('"').upper() for v in val.split(",")
            )
        else:  # vCard 2.1 bare parameters: TEL;CELL;QUOTED-PRINTABLE
            bare = key.strip().upper()
            if bare in ("QUOTED-PRINTABLE", "BASE64", "B", "8BIT", "7BIT"):
                params.setdefault("ENCODING", []).append(bare)
            else:
                params.setdefault("TYPE", []).append(bare)
    return name, params, value


def _decoded_value(params: dict[str, list[str]], value: str) -> str:
    if "QUOTED-PRINTABLE" in params.get("ENCODING", []):
        charset = (params.get("CHARSET") or ["UTF-8"])[0]
        raw = quopri.decodestring(value.encode("utf-8"))
        try:
            return raw.decode(charset, errors="replace")
        except LookupError:
            return raw.decode("utf-8", errors="replace")
    return value


def _vcard_text(value: str | None) -> str | None:
    if value is None:
        return None
    text = unicodedata.normalize("NFC", value).strip()
    return text or None


def _vcard_birthday(value: str) -> Cell:
    match = _BDAY.fullmatch(value.strip())
    if match:
        try:
            return datetime.date(int(match[1]), int(match[2]), int(match[3]))
        except ValueError:
            pass
    return _vcard_text(value)


def _read_vcf(text: str, max_rows: int) -> Table:
    cards: list[_Card] = []
    card: _Card | None = None
    for line in _unfold(text):
        parsed = _parse_property(line)
        if parsed is None:
            continue
        name, params, raw_value = parsed
        if name == "BEGIN" and raw_value.strip().upper() == "VCARD":
            card = _Card()
            continue
        if name == "END" and raw_value.strip().upper() == "VCARD":
            if card is not None:
                cards.append(card)
                if len(cards) > max_rows:
                    raise _too_many_rows(max_rows)
            card = None
            continue
        if card is None or name in _VCARD_SKIP:
            continue
        _apply_property(card, name, _decoded_value(params, raw_value))
    cards = [c for c in cards if not c.is_empty()]
    if not cards:
        raise ImportFileError("empty", "The vCard file contains no contacts.")
    n_phones = max(1, max(len(c.phones) for c in cards))
    n_emails = max(1, max(len(c.emails) for c in cards))
    headers = (
        ["Full name"]
        + [f"Phone {i}" for i in range(1, n_phones + 1)]
        + [f"Email {i}" for i in range(1, n_emails + 1)]
        + ["Birthday", "Organization", "Title", "Address", "Note"]
    )
    table_rows: list[list[Cell]] = []
    for c in cards:
        row: list[Cell] = [c.full_name or c.structured_name]
        row.extend(c.phones)
        row.extend([None] * (n_phones - len(c.phones)))
        row.extend(c.emails)
        row.extend([None] * (n_emails - len(c.emails)))
        row.extend([c.birthday, c.organization, c.title, c.address, c.note])
        table_rows.append(row)
    return Table(headers=headers, rows=table_rows, format="vcf")


def _apply_property(card: _Card, name: str, value: str) -> None:
    if name == "FN":
        card.full_name = card.full_name or _vcard_text(_unescape(value))
    elif name == "N":
        # Family;Given;Additional;Prefixes;Suffixes — Vietnamese order: family, additional (middle), given.
        parts = [*_split_escaped(value, ";"), "", "", ""]
        family, given, additional = parts[0], parts[1], parts[2]
        joined = " ".join(" ".join(p.split()) for p in (family, additional, given) if p.strip())
        card.structured_name = card.structured_name or _vcard_text(joined)
    elif name == "TEL":
        number = _vcard_text(_unescape(value)) or ""
        if number.lower().startswith("tel:"):
            number = number[4:].strip()
        if number and number not in card.phones:
            card.phones.append(number)
    elif name == "EMAIL":
        email = _vcard_text(_unescape(value)) or ""
        if email.lower().startswith("mailto:"):
            email = email[7:].strip()
        if email and email not in card.emails:
            card.emails.append(email)
    elif name == "BDAY":
        card.birthday = card.birthday or _vcard_birthday(value)
    elif name == "ORG":
        card.organization = card.organization or _vcard_text(
            ", ".join(p.strip() for p in _split_escaped(value, ";") if p.strip())
        )
    elif name == "TITLE":
        card.title = card.title or _vcard_text(_unescape(value))
    elif name == "ADR":
        # PO box;extended;street;locality;region;postal code;country — written street first, as in Vietnam.
        parts = [" ".join(p.split()) for p in _split_escaped(value, ";")]
        card.address = card.address or _vcard_text(", ".join(p for p in parts if p))
    elif name == "NOTE":
        card.note = card.note or _vcard_text(_unescape(value))
