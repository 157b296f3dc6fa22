"""Tests for careline.imports.mapping: header recognition, export layouts and the Mapping data shape."""

from __future__ import annotations

import json
import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.imports.mapping import MULTI_VALUED, TARGETS, Mapping, auto_map, header_key

REQUIRED_TARGETS = {
    "full_name",
    "last_name",
    "middle_name",
    "first_name",
    "phone",
    "email",
    "birthday",
    "address",
    "street",
    "ward",
    "province",
    "tax_code",
    "company",
    "job_title",
    "salutation",
    "stage",
    "source",
    "tags",
    "tier",
    "external_ref",
    "note",
    "receivable_amount",
    "receivable_due",
    "price_type",
    "lunar_birthday",
    "kind",
    "ignore",
}


def test_targets_cover_the_customer_fields() -> None:
    assert set(TARGETS) >= REQUIRED_TARGETS
    assert all(isinstance(label, str) and label for label in TARGETS.values())
    assert {"phone", "email", "tags", "note"} == MULTI_VALUED


@pytest.mark.parametrize(
    ("header", "target"),
    [
        ("Họ và tên", "full_name"),
        ("Họ tên", "full_name"),
        ("Tên khách hàng", "full_name"),
        ("Tên KH", "full_name"),
        ("Khách hàng", "full_name"),
        ("SĐT", "phone"),
        ("SDT", "phone"),
        ("Số điện thoại", "phone"),
        ("Điện thoại", "phone"),
        ("Di động", "phone"),
        ("ĐTDĐ", "phone"),
        ("Số ĐT", "phone"),
        ("Email", "email"),
        ("E-mail", "email"),
        ("Thư điện tử", "email"),
        ("Ngày sinh", "birthday"),
        ("Sinh nhật", "birthday"),
        ("NS", "birthday"),
        ("Địa chỉ", "address"),
        ("Tỉnh/TP", "province"),
        ("Tỉnh/Thành phố", "province"),
        ("Tỉnh thành", "province"),
        ("Phường/Xã", "ward"),
        ("MST", "tax_code"),
        ("Mã số thuế", "tax_code"),
        ("Công ty", "company"),
        ("Chức vụ", "job_title"),
        ("Danh xưng", "salutation"),
        ("Xưng hô", "salutation"),
        ("Giai đoạn", "stage"),
        ("Trạng thái", "stage"),
        ("Nguồn", "source"),
        ("Nhãn", "tags"),
        ("Ghi chú", "note"),
        ("Mã KH", "external_ref"),
        ("Công nợ", "receivable_amount"),
        ("Hạn công nợ", "receivable_due"),
        ("Phân hạng", "tier"),
        ("Loại giá", "price_type"),
        ("Âm lịch", "lunar_birthday"),
        ("Name", "full_name"),
        ("Full Name", "full_name"),
        ("First Name", "first_name"),
        ("Last Name", "last_name"),
        ("Middle Name", "middle_name"),
        ("Phone", "phone"),
        ("Mobile", "phone"),
        ("Mobile Phone", "phone"),
        ("Home Phone", "phone"),
        ("Business Phone", "phone"),
        ("Telephone", "phone"),
        ("E-mail Address", "email"),
        ("Email Address", "email"),
        ("Birthday", "birthday"),
        ("Date of birth", "birthday"),
        ("DOB", "birthday"),
        ("Address", "address"),
        ("City", "province"),
        ("Province", "province"),
        ("Company", "company"),
        ("Organization", "company"),
        ("Job Title", "job_title"),
        ("Title", "job_title"),
        ("Notes", "note"),
        ("Tags", "tags"),
        ("Labels", "tags"),
        ("Customer ID", "external_ref"),
        ("ID", "external_ref"),
        ("Ngày tạo", "ignore"),
        ("Người phụ trách", "ignore"),
        ("Giới tính", "ignore"),
        ("STT", "ignore"),
        ("", "ignore"),
    ],
)
def test_single_header(header: str, target: str) -> None:
    assert auto_map([header]) == [target]


def test_header_key() -> None:
    assert header_key("Phone 2 - Value") == "phone value"
    assert header_key("E-mail Address") == "e mail address"
    assert header_key("  SĐT ") == "sdt"
    assert header_key("Tỉnh / thành phố") == "tinh thanh pho"


def test_parenthesised_remarks_are_ignored() -> None:
    assert auto_map(["Họ và tên (bắt buộc)", "SĐT (Zalo)", "Ngày sinh [dd/mm/yyyy]"]) == [
        "full_name",
        "phone",
        "birthday",
    ]


def test_ten_is_the_given_name_next_to_ho() -> None:
    assert auto_map(["Họ", "Tên đệm", "Tên"]) == ["last_name", "middle_name", "first_name"]
    assert auto_map(["Tên", "SĐT"]) == ["full_name", "phone"]


def test_multi_valued_targets_take_every_column() -> None:
    headers = ["Tên", "SĐT", "Di động", "Email", "E-mail 2", "Nhãn", "Tags", "Ghi chú", "Notes"]
    assert auto_map(headers) == [
        "full_name",
        "phone",
        "phone",
        "email",
        "email",
        "tags",
        "tags",
        "note",
        "note",
    ]


def test_single_valued_targets_go_to_the_first_column_only() -> None:
    assert auto_map(["Họ và tên", "Ngày sinh", "Sinh nhật", "Họ tên"]) == [
        "full_name",
        "birthday",
        "ignore",
        "ignore",
    ]


def test_a_better_name_wins_over_an_earlier_weak_one() -> None:
    # Outlook's "Title" holds Mr./Ms.; "Job Title" is the job title even though it comes later.
    assert auto_map(["Title", "First Name", "Job Title"]) == ["ignore", "first_name", "job_title"]
    assert auto_map(["Trạng thái", "Giai đoạn"]) == ["ignore", "stage"]


GOOGLE_OLD = [
    "Name",
    "Given Name",
    "Additional Name",
    "Family Name",
    "Yomi Name",
    "Given Name Yomi",
    "Name Prefix",
    "Nickname",
    "Birthday",
    "Gender",
    "Notes",
    "Group Membership",
    "E-mail 1 - Type",
    "E-mail 1 - Value",
    "E-mail 2 - Type",
    "E-mail 2 - Value",
    "Phone 1 - Type",
    "Phone 1 - Value",
    "Phone 2 - Type",
    "Phone 2 - Value",
    "Address 1 - Type",
    "Address 1 - Formatted",
    "Address 1 - Street",
    "Address 1 - City",
    "Address 1 - Region",
    "Address 1 - Postal Code",
    "Address 1 - Country",
    "Organization 1 - Type",
    "Organization 1 - Name",
    "Organization 1 - Title",
    "Website 1 - Value",
]


def test_google_contacts_csv() -> None:
    mapping = dict(zip(GOOGLE_OLD, auto_map(GOOGLE_OLD), strict=True))
    assert mapping["Name"] == "full_name"
    assert mapping["Given Name"] == "first_name"
    assert mapping["Additional Name"] == "middle_name"
    assert mapping["Family Name"] == "last_name"
    assert mapping["Birthday"] == "birthday"
    assert mapping["Notes"] == "note"
    assert mapping["Group Membership"] == "tags"
    assert mapping["E-mail 1 - Value"] == mapping["E-mail 2 - Value"] == "email"
    assert mapping["Phone 1 - Value"] == mapping["Phone 2 - Value"] == "phone"
    assert mapping["Address 1 - Formatted"] == "address"
    assert mapping["Address 1 - Street"] == "street"
    assert mapping["Address 1 - Region"] == "province"
    assert mapping["Organization 1 - Name"] == "company"
    assert mapping["Organization 1 - Title"] == "job_title"
    for ignored in ("Yomi Name", "Given Name Yomi", "Name Prefix", "Nickname", "Gender", "Phone 1 - Type"):
        assert mapping[ignored] == "ignore", ignored
    for ignored in (
        "Address 1 - City",
        "Address 1 - Postal Code",
        "Address 1 - Country",
        "Website 1 - Value",
    ):
        assert mapping[ignored] == "ignore", ignored


def test_new_google_contacts_csv() -> None:
    headers = [
        "First Name",
        "Middle Name",
        "Last Name",
        "Phonetic First Name",
        "Nickname",
        "File As",
        "Organization Name",
        "Organization Title",
        "Organization Department",
        "Birthday",
        "Notes",
        "Labels",
        "E-mail 1 - Label",
        "E-mail 1 - Value",
        "Phone 1 - Label",
        "Phone 1 - Value",
        "Phone 2 - Label",
        "Phone 2 - Value",
        "Address 1 - Label",
        "Address 1 - Formatted",
    ]
    assert auto_map(headers) == [
        "first_name",
        "middle_name",
        "last_name",
        "ignore",
        "ignore",
        "ignore",
        "company",
        "job_title",
        "ignore",
        "birthday",
        "note",
        "tags",
        "ignore",
        "email",
        "ignore",
        "phone",
        "ignore",
        "phone",
        "ignore",
        "address",
    ]


def test_outlook_csv() -> None:
    headers = [
        "Title",
        "First Name",
        "Middle Name",
        "Last Name",
        "Suffix",
        "Company",
        "Department",
        "Job Title",
        "Business Street",
        "Business Fax",
        "Business Phone",
        "Business Phone 2",
        "Home Phone",
        "Mobile Phone",
        "Other Phone",
        "Pager",
        "Birthday",
        "Categories",
        "E-mail Address",
        "E-mail Type",
        "E-mail Display Name",
        "E-mail 2 Address",
        "Notes",
    ]
    assert auto_map(headers) == [
        "ignore",
        "first_name",
        "middle_name",
        "last_name",
        "ignore",
        "company",
        "ignore",
        "job_title",
        "ignore",
        "ignore",
        "phone",
        "phone",
        "phone",
        "phone",
        "phone",
        "ignore",
        "birthday",
        "tags",
        "email",
        "ignore",
        "ignore",
        "email",
        "note",
    ]


def test_generic_crm_export() -> None:
    headers = ["Customer ID", "Customer name", "Phone number", "Email", "Address", "City", "Status", "Source"]
    assert auto_map(headers) == [
        "external_ref",
        "full_name",
        "phone",
        "email",
        "address",
        "province",
        "stage",
        "source",
    ]


CARELINE_VI = [
    "Mã",
    "Họ và tên",
    "Loại",
    "Danh xưng",
    "Điện thoại",
    "Email",
    "Ngày sinh",
    "Mã số thuế",
    "Tỉnh / thành phố",
    "Phường / xã",
    "Số nhà, đường",
    "Địa chỉ cũ",
    "Giai đoạn",
    "Nguồn",
    "Phân hạng",
    "Nhãn",
    "Người phụ trách",
    "Ngày tạo",
]
CARELINE_EN = [
    "ID",
    "Full name",
    "Kind",
    "Salutation",
    "Phones",
    "Emails",
    "Birthday",
    "Tax code",
    "Province",
    "Ward",
    "Street",
    "Legacy address",
    "Stage",
    "Source",
    "Tier",
    "Tags",
    "Owner",
    "Created",
]
CARELINE_TARGETS = [
    "external_ref",
    "full_name",
    "kind",
    "salutation",
    "phone",
    "email",
    "birthday",
    "tax_code",
    "province",
    "ward",
    "street",
    "address",
    "stage",
    "source",
    "tier",
    "tags",
    "ignore",
    "ignore",
]


@pytest.mark.parametrize("headers", [CARELINE_VI, CARELINE_EN], ids=["vi", "en"])
def test_careline_export_maps_back(headers: list[str]) -> None:
    assert auto_map(headers) == CARELINE_TARGETS


def test_vcard_table_headers() -> None:
    headers = [
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
    assert auto_map(headers) == [
        "full_name",
        "phone",
        "phone",
        "email",
        "birthday",
        "company",
        "job_title",
        "address",
        "note",
    ]


# --- Mapping ---------------------------------------------------------------------------------------


def test_mapping_json_round_trip() -> None:
    mapping = Mapping(columns=["full_name", "phone", "ignore"])
    assert mapping.to_json() == ["full_name", "phone", "ignore"]
    assert json.loads(json.dumps(mapping.to_json())) == mapping.to_json()
    assert Mapping.from_json(mapping.to_json()) == mapping
    assert Mapping.from_json(json.dumps(mapping.to_json())) == mapping
    assert Mapping.auto(["Họ tên", "SĐT"]) == Mapping(columns=["full_name", "phone"])


@pytest.mark.parametrize("bad", [{"a": "full_name"}, [1, 2], "42", None])
def test_mapping_from_json_rejects_other_shapes(bad: object) -> None:
    with pytest.raises(ValueError, match="list of target keys"):
        Mapping.from_json(bad)


def test_validate_accepts_a_good_mapping() -> None:
    assert Mapping(["full_name", "phone", "phone", "ignore"]).validate(["Tên", "SĐT", "Di động", "X"]) == []
    assert Mapping(["last_name", "first_name"]).validate(["Họ", "Tên"]) == []
    assert Mapping(["company", "tax_code"]).validate(["Công ty", "MST"]) == []


def test_validate_reports_length_mismatch() -> None:
    problems = Mapping(["full_name"]).validate(["Tên", "SĐT"])
    assert len(problems) == 1
    assert "1 columns" in problems[0] and "2" in problems[0]


def test_validate_reports_unknown_targets() -> None:
    problems = Mapping(["full_name", "fax"]).validate(["Tên", "Fax"])
    assert problems == ["Column 2 (“Fax”): unknown field “fax”."]


def test_validate_requires_a_name_column() -> None:
    problems = Mapping(["phone", "email", "ignore"]).validate(["SĐT", "Email", "Tên"])
    assert len(problems) == 1
    assert "name" in problems[0]


def test_validate_reports_a_single_valued_target_used_twice() -> None:
    problems = Mapping(["full_name", "birthday", "birthday"]).validate(["Tên", "Ngày sinh", "Sinh nhật"])
    assert len(problems) == 1
    assert "“Ngày sinh”" in problems[0] and "“Sinh nhật”" in problems[0]


# --- properties ------------------------------------------------------------------------------------

KNOWN_HEADERS = [
    "Họ và tên",
    "Số điện thoại",
    "Ngày sinh",
    "Địa chỉ",
    "Tỉnh/Thành phố",
    "Phường/Xã",
    "Mã số thuế",
    "Chức vụ",
    "Ghi chú",
    "Hạn công nợ",
    "E-mail Address",
    "Mobile Phone",
    "Job Title",
    "Organization 1 - Name",
]


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).replace("Đ", "D").replace("đ", "d")


@st.composite
def header_variants(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    headers = draw(st.lists(st.sampled_from(KNOWN_HEADERS), min_size=1, max_size=6, unique=True))
    variants = []
    for header in headers:
        text = header
        if draw(st.booleans()):
            text = _strip_accents(text)
        if draw(st.booleans()):
            text = unicodedata.normalize("NFD", text)
        text = "".join(c.upper() if draw(st.booleans()) else c.lower() for c in text)
        spaces = draw(st.sampled_from([" ", "  ", "\t", " \u00a0"]))
        text = spaces.join(text.split(" "))
        text = draw(st.sampled_from(["", " ", "  "])) + text + draw(st.sampled_from(["", " ", "\t"]))
        variants.append(text)
    return headers, variants


@given(header_variants())
def test_auto_map_is_stable_under_case_accents_and_spaces(pair: tuple[list[str], list[str]]) -> None:
    headers, variants = pair
    assert auto_map(variants) == auto_map(headers)
    assert all(auto_map([header]) != ["ignore"] for header in headers)


@given(st.lists(st.text(max_size=15), max_size=12))
def test_auto_map_always_gives_one_known_target_per_column(headers: list[str]) -> None:
    result = auto_map(headers)
    assert len(result) == len(headers)
    assert set(result) <= set(TARGETS)
    single = [t for t in result if t != "ignore" and t not in MULTI_VALUED]
    assert len(single) == len(set(single))
