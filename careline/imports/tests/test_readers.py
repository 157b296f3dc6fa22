"""Tests for careline.imports.readers: file types, encodings, delimiters, XLSX, vCard and the limits."""

from __future__ import annotations

import codecs
import datetime
import io
import pickle
import string
import time
import unicodedata
import zipfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from careline.imports.readers import ImportFileError, Table, read_table
from careline.imports.tests import cp1258_bytes, csv_text, xlsx_bytes, zip_bytes

HEADER = ["Họ và tên", "SĐT", "Ngày sinh"]
ROWS = [["Nguyễn Thị Lan", "0912345678", "15/03/1990"], ["Đặng Hữu Phước", "", "1/2/85"]]


def read(data: bytes, filename: str = "khach.csv", **kwargs: object) -> Table:
    return read_table(data, filename=filename, **kwargs)  # type: ignore[arg-type]


def error_of(data: bytes, filename: str = "khach.csv", **kwargs: object) -> ImportFileError:
    with pytest.raises(ImportFileError) as info:
        read(data, filename, **kwargs)
    return info.value


# --- ImportFileError -------------------------------------------------------------------------------


def test_import_file_error_has_code_and_message() -> None:
    exc = ImportFileError("too_large", "Too big.")
    assert exc.code == "too_large"
    assert exc.message == "Too big."
    assert str(exc) == "Too big."
    assert isinstance(exc, ValueError)


def test_import_file_error_survives_pickling() -> None:
    exc = pickle.loads(pickle.dumps(ImportFileError("zip_bomb", "Refused.")))
    assert (exc.code, exc.message, str(exc)) == ("zip_bomb", "Refused.", "Refused.")


def test_import_file_error_rejects_unknown_codes() -> None:
    with pytest.raises(ValueError, match="Unknown"):
        ImportFileError("nope", "x")


# --- CSV encodings ---------------------------------------------------------------------------------


def test_utf8_csv() -> None:
    table = read(csv_text([HEADER, *ROWS]).encode("utf-8"))
    assert table.format == "csv"
    assert table.encoding == "utf-8"
    assert table.encoding_confident is True
    assert table.delimiter == ","
    assert table.headers == HEADER
    assert table.rows == [["Nguyễn Thị Lan", "0912345678", "15/03/1990"], ["Đặng Hữu Phước", None, "1/2/85"]]
    assert table.sheet is None and table.sheets == []


def test_utf8_with_bom_csv() -> None:
    table = read(codecs.BOM_UTF8 + csv_text([HEADER, *ROWS]).encode("utf-8"))
    assert table.encoding == "utf-8-sig"
    assert table.encoding_confident is True
    assert table.headers[0] == "Họ và tên"  # no BOM character glued to the first header


def test_utf16_le_tab_separated_from_excel() -> None:
    text = csv_text([HEADER, *ROWS], delimiter="\t")
    table = read(codecs.BOM_UTF16_LE + text.encode("utf-16-le"), "khach.txt")
    assert table.encoding == "utf-16-le"
    assert table.encoding_confident is True
    assert table.delimiter == "\t"
    assert table.headers == HEADER
    assert table.rows[0] == ["Nguyễn Thị Lan", "0912345678", "15/03/1990"]


def test_utf16_be_with_bom() -> None:
    text = csv_text([HEADER, *ROWS], delimiter="\t")
    table = read(codecs.BOM_UTF16_BE + text.encode("utf-16-be"), "khach.txt")
    assert table.encoding == "utf-16-be"
    assert table.rows[1][0] == "Đặng Hữu Phước"


def test_utf16_without_bom_is_recognised() -> None:
    table = read(csv_text([HEADER, *ROWS], delimiter="\t").encode("utf-16-le"), "khach.txt")
    assert table.encoding == "utf-16-le"
    assert table.headers == HEADER


def test_cp1258_helper_uses_combining_tone_marks() -> None:
    encoded = cp1258_bytes("Nguyễn")
    assert encoded == b"Nguy\xea\xden"  # ê, then U+0303 COMBINING TILDE (0xDE in cp1258)
    with pytest.raises(UnicodeEncodeError):
        "Nguyễn".encode("cp1258")


def test_cp1258_csv_is_detected_and_normalised_to_nfc() -> None:
    data = cp1258_bytes(csv_text([HEADER, *ROWS], delimiter=";"))
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    table = read(data)
    assert table.encoding == "cp1258"
    assert table.encoding_confident is True
    assert table.headers == HEADER
    assert table.rows[0][0] == "Nguyễn Thị Lan"
    assert table.rows[1][0] == "Đặng Hữu Phước"
    assert all(unicodedata.is_normalized("NFC", c) for row in table.rows for c in row if isinstance(c, str))


def test_western_csv_falls_back_to_cp1252_and_asks() -> None:
    data = csv_text([["Name", "City"], ["Müller", "Köln"], ["François", "Paris"]]).encode("cp1252")
    table = read(data)
    assert table.encoding == "cp1252"
    assert table.encoding_confident is False
    assert {"cp1258", "cp1252", "latin-1"} <= set(table.encoding_candidates)
    assert table.rows[0] == ["Müller", "Köln"]


def test_vietnamese_letters_without_tone_marks_guess_cp1258_but_ask() -> None:
    raw = cp1258_bytes("Ten\r\nĐương\r\nDơn\r\n")  # đ, ư, ơ but no combining tone mark
    assert b"\xd0" in raw and b"\xfd" in raw
    table = read(raw)
    assert table.encoding == "cp1258"
    assert table.encoding_confident is False
    assert table.encoding_candidates[0] == "cp1258"
    assert table.rows == [["Đương"], ["Dơn"]]


def test_explicit_encoding_overrides_detection() -> None:
    data = csv_text([["Tên"], ["Müller"]]).encode("cp1252")
    table = read(data, encoding="latin-1")
    assert table.encoding == "latin-1"
    assert table.encoding_confident is True
    assert table.encoding_candidates == ["latin-1"]
    assert table.rows == [["Müller"]]


def test_explicit_cp1258_is_normalised() -> None:
    table = read(cp1258_bytes("Tên\nNguyễn Thị Lan\n"), encoding="cp1258")
    assert table.rows == [["Nguyễn Thị Lan"]]


def test_unknown_encoding_name() -> None:
    exc = error_of(b"Ten\nLan\n", encoding="klingon-8")
    assert exc.code == "encoding_unknown"
    assert "klingon-8" in exc.message


def test_wrong_explicit_encoding_is_unreadable() -> None:
    exc = error_of(cp1258_bytes("Tên\nNguyễn\n"), encoding="utf-8")
    assert exc.code == "unreadable"
    assert "utf-8" in exc.message


def test_nfd_text_becomes_nfc() -> None:
    text = unicodedata.normalize("NFD", "Họ và tên\nNguyễn Thị Lan\n")
    table = read(text.encode("utf-8"))
    assert table.headers == ["Họ và tên"]
    assert table.rows == [["Nguyễn Thị Lan"]]


# --- CSV structure ---------------------------------------------------------------------------------


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_delimiters(delimiter: str) -> None:
    table = read(csv_text([HEADER, *ROWS], delimiter=delimiter).encode())
    assert table.delimiter == delimiter
    assert table.headers == HEADER
    assert table.rows[0][1] == "0912345678"


def test_semicolon_file_with_commas_inside_cells() -> None:
    rows = [["Họ tên", "Địa chỉ", "Công nợ"], ["Lan", "12 Lê Lợi, Quận 1, TP HCM", "1,5tr"]] * 3
    table = read(csv_text(rows, delimiter=";").encode())
    assert table.delimiter == ";"
    assert table.rows[0] == ["Lan", "12 Lê Lợi, Quận 1, TP HCM", "1,5tr"]


def test_quoted_cells_with_line_breaks() -> None:
    data = 'Tên,Ghi chú\r\nLan,"Gọi lại\r\nsau 5 giờ"\r\nMinh,\r\n'.encode()
    table = read(data)
    assert table.rows == [["Lan", "Gọi lại\r\nsau 5 giờ"], ["Minh", None]]


def test_cells_are_stripped_and_empty_cells_are_none() -> None:
    table = read("Tên , SĐT\n  Lan  ,   \n".encode())
    assert table.headers == ["Tên", "SĐT"]
    assert table.rows == [["Lan", None]]


def test_trailing_empty_rows_dropped_middle_ones_kept() -> None:
    table = read("Tên,SĐT\nLan,1\n,\nMinh,2\n,\n , \n\n".encode())
    assert table.rows == [["Lan", "1"], [None, None], ["Minh", "2"]]


def test_rows_padded_and_truncated_to_the_header() -> None:
    table = read("Tên,SĐT,Email\nLan\nMinh,2,m@x.vn,,\n".encode())
    assert table.rows == [["Lan", None, None], ["Minh", "2", "m@x.vn"]]


def test_data_beyond_the_header_gets_a_column_name() -> None:
    table = read("Tên,,SĐT\nLan,x,1,ghi chú\n".encode())
    assert table.headers == ["Tên", "Column 2", "SĐT", "Column 4"]
    assert table.rows == [["Lan", "x", "1", "ghi chú"]]


def test_leading_blank_lines_before_the_header() -> None:
    table = read("\n,,\nTên,SĐT\nLan,1\n".encode())
    assert table.headers == ["Tên", "SĐT"]
    assert table.header_row == 3
    assert table.rows == [["Lan", "1"]]


def test_single_column_text_file() -> None:
    table = read("Họ và tên\nNguyễn Thị Lan\nTrần Văn Minh\n".encode(), "ten.txt")
    assert table.headers == ["Họ và tên"]
    assert table.rows == [["Nguyễn Thị Lan"], ["Trần Văn Minh"]]


def test_csv_recognised_by_content_without_extension() -> None:
    table = read(csv_text([HEADER, *ROWS]).encode(), "download")
    assert table.format == "csv"


def test_csv_renamed_to_xlsx_is_read_as_csv() -> None:
    table = read(csv_text([HEADER, *ROWS]).encode(), "khach.xlsx")
    assert table.format == "csv"
    assert table.headers == HEADER


@pytest.mark.parametrize(
    "data",
    [b"", b"   \r\n\r\n", codecs.BOM_UTF8 + b"\r\n", b",,,\n;;\n"],
)
def test_empty_files(data: bytes) -> None:
    assert error_of(data).code == "empty"


def test_header_only_file_is_empty() -> None:
    exc = error_of("Họ và tên,SĐT\n,\n".encode())
    assert exc.code == "empty"
    assert "no data rows" in exc.message


# --- limits ----------------------------------------------------------------------------------------


def test_too_large() -> None:
    data = csv_text([HEADER, *ROWS]).encode()
    exc = error_of(data + b"x" * (2 * 1024 * 1024), max_bytes=2 * 1024 * 1024)
    assert exc.code == "too_large"
    assert "2 MB" in exc.message


def test_exactly_the_size_limit_is_accepted() -> None:
    data = csv_text([HEADER, *ROWS]).encode()
    assert read(data, max_bytes=len(data)).rows


def test_too_many_rows() -> None:
    data = csv_text([HEADER, *ROWS, ["Minh", "1", ""]]).encode()
    exc = error_of(data, max_rows=2)
    assert exc.code == "too_many_rows"
    assert "2" in exc.message


def test_trailing_empty_rows_do_not_count_towards_max_rows() -> None:
    data = csv_text([HEADER, *ROWS, ["", "", ""], ["", "", ""]]).encode()
    assert len(read(data, max_rows=2).rows) == 2


# --- unsupported types -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "filename"),
    [
        (b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "khach.pdf"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "anh.png"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "anh.jpg"),
        (b"MZ\x90\x00\x03\x00\x00\x00", "setup.exe"),
        (b"\x7fELF\x02\x01\x01", "run"),
        (b"<?php echo 'a,b,c'; ?>\n", "shell.php"),
        (b"<html><body><table><tr><td>a</td></tr></table></body></html>", "khach.xls"),
        (b"a,b,c\n1,2,3\n", "script.php"),
        (b"a,b,c\n1,2,3\n", "page.html"),
        (b"\x00\x01\x02\x03binary\x00junk", "data.csv"),
    ],
)
def test_unsupported_types(data: bytes, filename: str) -> None:
    exc = error_of(data, filename)
    assert exc.code == "unsupported_type"
    assert ".xlsx" in exc.message


def test_old_xls_asks_to_save_as_xlsx() -> None:
    exc = error_of(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 512, "khach.xls")
    assert exc.code == "unsupported_type"
    assert ".xls" in exc.message and "save it as .xlsx" in exc.message


@pytest.mark.parametrize(
    ("members", "words"),
    [
        ({"word/document.xml": b"<w/>", "[Content_Types].xml": b"<t/>"}, "Word"),
        ({"mimetype": b"application/vnd.oasis.opendocument.spreadsheet", "content.xml": b"<x/>"}, ".ods"),
        ({"hello.txt": b"hello"}, "ZIP"),
    ],
)
def test_other_zip_files(members: dict[str, bytes], words: str) -> None:
    exc = error_of(zip_bytes(members), "file.zip")
    assert exc.code == "unsupported_type"
    assert words in exc.message


def test_truncated_xlsx_is_unreadable() -> None:
    data = xlsx_bytes({"Sheet1": [HEADER, ROWS[0]]})
    exc = error_of(data[: len(data) // 2], "khach.xlsx")
    assert exc.code == "unreadable"


# --- zip bombs -------------------------------------------------------------------------------------


def _bomb(megabytes: int) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        with archive.open("xl/worksheets/sheet1.xml", "w") as member:
            chunk = b"0" * (1024 * 1024)
            for _ in range(megabytes):
                member.write(chunk)
    return buf.getvalue()


def test_zip_bomb_is_rejected_quickly() -> None:
    data = _bomb(100)
    assert len(data) < 1024 * 1024
    started = time.perf_counter()
    exc = error_of(data, "khach.xlsx")
    assert time.perf_counter() - started < 2
    assert exc.code == "zip_bomb"


def test_zip_bomb_ratio_alone_is_enough() -> None:
    exc = error_of(_bomb(5), "khach.xlsx", max_uncompressed=10**12)
    assert exc.code == "zip_bomb"


def test_zip_total_size_limit() -> None:
    data = xlsx_bytes({"Sheet1": [HEADER, *[ROWS[0]] * 50]})
    assert read(data, "khach.xlsx").rows
    assert error_of(data, "khach.xlsx", max_uncompressed=1000).code == "zip_bomb"


def test_zip_with_too_many_members() -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as archive:
        archive.writestr("xl/workbook.xml", "<workbook/>")
        for i in range(10_001):
            archive.writestr(f"x/{i}", b"")
    assert error_of(buf.getvalue(), "khach.xlsx").code == "zip_bomb"


# --- XLSX ------------------------------------------------------------------------------------------


def test_xlsx_keeps_cell_types() -> None:
    data = xlsx_bytes(
        {
            "Khách hàng": [
                ["Họ và tên", "SĐT", "Ngày sinh", "Công nợ", "Âm lịch", "Tỷ lệ"],
                ["  Nguyễn Thị Lan ", 912345678, datetime.date(1990, 3, 15), 1500000, True, 0.5],
                [unicodedata.normalize("NFD", "Trần Văn Minh"), "0987 654 321", None, "", False, None],
            ]
        }
    )
    table = read(data, "khach.xlsx")
    assert table.format == "xlsx"
    assert table.encoding is None and table.delimiter is None
    assert table.sheet == "Khách hàng"
    assert table.sheets == ["Khách hàng"]
    assert table.headers == ["Họ và tên", "SĐT", "Ngày sinh", "Công nợ", "Âm lịch", "Tỷ lệ"]
    first, second = table.rows
    assert first[0] == "Nguyễn Thị Lan"
    assert first[1] == 912345678 and type(first[1]) is int
    assert first[2] in (datetime.date(1990, 3, 15), datetime.datetime(1990, 3, 15))
    assert first[3] == 1500000 and type(first[3]) is int
    assert first[4] is True
    assert first[5] == 0.5
    assert second == ["Trần Văn Minh", "0987 654 321", None, None, False, None]


def test_xlsx_datetime_cells() -> None:
    data = xlsx_bytes({"S": [["Tên", "Ngày"], ["Lan", datetime.datetime(2024, 3, 15, 10, 30)]]})
    value = read(data, "k.xlsx").rows[0][1]
    assert isinstance(value, datetime.datetime)
    assert value == datetime.datetime(2024, 3, 15, 10, 30)


def test_xlsx_uses_the_first_sheet_unless_told() -> None:
    data = xlsx_bytes({"Hà Nội": [["Tên"], ["Lan"]], "TP HCM": [["Tên"], ["Minh"]]})
    assert read(data, "k.xlsx").rows == [["Lan"]]
    table = read(data, "k.xlsx", sheet="TP HCM")
    assert table.rows == [["Minh"]]
    assert table.sheet == "TP HCM"
    assert table.sheets == ["Hà Nội", "TP HCM"]


def test_xlsx_unknown_sheet_lists_the_sheets() -> None:
    data = xlsx_bytes({"Hà Nội": [["Tên"], ["Lan"]], "TP HCM": [["Tên"], ["Minh"]]})
    exc = error_of(data, "k.xlsx", sheet="Đà Nẵng")
    assert exc.code == "unreadable"
    assert "Hà Nội" in exc.message and "TP HCM" in exc.message


def test_xlsx_header_is_the_first_non_empty_row() -> None:
    data = xlsx_bytes({"S": [["Tên", "SĐT"], ["Lan", 912345678], [None, None], ["Minh", None]]}, start_row=2)
    table = read(data, "k.xlsx")
    assert table.headers == ["Tên", "SĐT"]
    assert table.header_row == 3
    assert table.rows == [["Lan", 912345678], [None, None], ["Minh", None]]


def test_xlsx_read_by_content_whatever_the_name() -> None:
    data = xlsx_bytes({"S": [["Tên"], ["Lan"]]})
    assert read(data, "khach.csv").format == "xlsx"


def test_xlsx_empty_sheet_and_header_only() -> None:
    data = xlsx_bytes({"Trống": [], "Chỉ tiêu đề": [["Tên", "SĐT"]]})
    assert error_of(data, "k.xlsx").code == "empty"
    assert error_of(data, "k.xlsx", sheet="Chỉ tiêu đề").code == "empty"


def test_xlsx_too_many_rows() -> None:
    data = xlsx_bytes({"S": [["Tên"], ["Lan"], ["Minh"], ["Hùng"]]})
    assert error_of(data, "k.xlsx", max_rows=2).code == "too_many_rows"
    assert len(read(data, "k.xlsx", max_rows=3).rows) == 3


# --- vCard -----------------------------------------------------------------------------------------

VCARD_30 = """BEGIN:VCARD
VERSION:3.0
FN:Nguyễn Thị Lan
N:Nguyễn;Lan;Thị;;
TEL;TYPE=CELL:0912 345 678
TEL;TYPE=HOME,VOICE:024 3826 1234
EMAIL;TYPE=INTERNET:lan@example.com
BDAY:1990-03-15
ORG:Công ty TNHH Hoa Sen;Kinh doanh
TITLE:Trưởng phòng
ADR;TYPE=WORK:;;12 Lê Lợi;Phường Bến Thành;TP Hồ Chí Minh;700000;Việt Nam
NOTE:Khách quen\\, gọi buổi sáng\\nthứ 2-6
END:VCARD
BEGIN:VCARD
VERSION:3.0
FN:Trần Văn Minh
TEL:0987654321
END:VCARD
"""


def test_vcard_30() -> None:
    table = read(VCARD_30.encode(), "danh-ba.vcf")
    assert table.format == "vcf"
    assert table.headers == [
        "Full name",
        "Phone 1",
        "Phone 2",
        "Email 1",
        "Birthday",
        "Organization",
        "Title",
        "Address",
        "Note",
    ]
    assert table.rows[0] == [
        "Nguyễn Thị Lan",
        "0912 345 678",
        "024 3826 1234",
        "lan@example.com",
        datetime.date(1990, 3, 15),
        "Công ty TNHH Hoa Sen, Kinh doanh",
        "Trưởng phòng",
        "12 Lê Lợi, Phường Bến Thành, TP Hồ Chí Minh, 700000, Việt Nam",
        "Khách quen, gọi buổi sáng\nthứ 2-6",
    ]
    assert table.rows[1] == ["Trần Văn Minh", "0987654321", None, None, None, None, None, None, None]


def _qp(text: str) -> str:
    return "".join(f"={b:02X}" for b in text.encode("utf-8"))


def test_vcard_21_android_quoted_printable_with_n_only() -> None:
    family, given, middle = _qp("Nguyễn"), _qp("Lan"), _qp("Thị")
    long_value = _qp("Đặng Hữu Phước")
    card = (
        "BEGIN:VCARD\r\n"
        "VERSION:2.1\r\n"
        f"N;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{family};{given};{middle};;\r\n"
        "TEL;CELL;PREF:0912345678\r\n"
        "TEL;WORK:+84 24 3826 1234\r\n"
        "END:VCARD\r\n"
        "BEGIN:VCARD\r\n"
        "VERSION:2.1\r\n"
        f"FN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:{long_value[:30]}=\r\n"
        f"{long_value[30:]}\r\n"
        "TEL;CELL:0987654321\r\n"
        "END:VCARD\r\n"
    )
    table = read(card.encode("ascii"), "contacts.vcf")
    assert table.rows[0][:3] == ["Nguyễn Thị Lan", "0912345678", "+84 24 3826 1234"]
    assert table.rows[1][:2] == ["Đặng Hữu Phước", "0987654321"]


def test_vcard_folded_lines_and_40_tel_uri() -> None:
    card = (
        "BEGIN:VCARD\r\n"
        "VERSION:4.0\r\n"
        "FN:Phạm Quỳnh\r\n"
        "  Hương\r\n"
        "TEL;VALUE=uri;TYPE=cell:tel:+84-912-345-678\r\n"
        "item1.EMAIL;type=INTERNET:huong@example.vn\r\n"
        "PHOTO;ENCODING=b;TYPE=JPEG:/9j/4AAQSkZJRgABAQ\r\n"
        " AAAQABAAD\r\n"
        "BDAY:--0315\r\n"
        "END:VCARD\r\n"
    )
    table = read(card.encode(), "c.vcf")
    row = dict(zip(table.headers, table.rows[0], strict=True))
    assert row["Full name"] == "Phạm Quỳnh Hương"
    assert row["Phone 1"] == "+84-912-345-678"
    assert row["Email 1"] == "huong@example.vn"
    assert row["Birthday"] == "--0315"  # no year: left as text for the parser to report


def test_vcard_detected_by_content_with_bom_and_blank_lines() -> None:
    data = codecs.BOM_UTF8 + b"\r\n  \r\n" + "BEGIN:VCARD\nFN:Lê Văn Tám\nEND:VCARD\n".encode()
    table = read(data, "export.txt")
    assert table.format == "vcf"
    assert table.rows == [["Lê Văn Tám", None, None, None, None, None, None, None]]


def test_vcard_without_contacts_is_empty() -> None:
    data = b"BEGIN:VCARD\nVERSION:3.0\nPHOTO;ENCODING=b:AAAA\nEND:VCARD\n"
    assert error_of(data, "c.vcf").code == "empty"


def test_vcard_too_many_rows() -> None:
    data = ("BEGIN:VCARD\nFN:Lan\nEND:VCARD\n" * 3).encode()
    assert error_of(data, "c.vcf", max_rows=2).code == "too_many_rows"


# --- properties ------------------------------------------------------------------------------------

VIETNAMESE = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
cell_text = st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + string.digits + " ,;\"'.-/", max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.lists(cell_text, min_size=3, max_size=3), min_size=1, max_size=8),
    delimiter=st.sampled_from([",", ";", "\t"]),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1258"]),
    nfd=st.booleans(),
)
def test_csv_round_trip(rows: list[list[str]], delimiter: str, encoding: str, nfd: bool) -> None:
    header = ["Họ và tên", "Điện thoại", "Ghi chú"]
    text = csv_text([header, *rows], delimiter=delimiter)
    if nfd:
        text = unicodedata.normalize("NFD", text)
    data = cp1258_bytes(text) if encoding == "cp1258" else text.encode(encoding)
    expected = [[c.strip() or None for c in row] for row in rows]
    while expected and expected[-1] == [None, None, None]:
        expected.pop()
    if not expected:
        assert error_of(data).code == "empty"
        return
    table = read(data)
    assert table.encoding_confident
    assert table.headers == header
    assert table.rows == expected
