"""Tests for careline.vn.provinces: the 34 units since 1 July 2025 and the 63 before."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.vn.provinces import (
    LEGACY_TO_NEW,
    PROVINCES,
    Province,
    find_province,
    province_by_code,
    province_choices,
)
from careline.vn.text import fold

EXPECTED_UNITS = {
    "01": "Hà Nội",
    "04": "Cao Bằng",
    "08": "Tuyên Quang",
    "11": "Điện Biên",
    "12": "Lai Châu",
    "14": "Sơn La",
    "15": "Lào Cai",
    "19": "Thái Nguyên",
    "20": "Lạng Sơn",
    "22": "Quảng Ninh",
    "24": "Bắc Ninh",
    "25": "Phú Thọ",
    "31": "Hải Phòng",
    "33": "Hưng Yên",
    "37": "Ninh Bình",
    "38": "Thanh Hóa",
    "40": "Nghệ An",
    "42": "Hà Tĩnh",
    "44": "Quảng Trị",
    "46": "Huế",
    "48": "Đà Nẵng",
    "51": "Quảng Ngãi",
    "52": "Gia Lai",
    "56": "Khánh Hòa",
    "66": "Đắk Lắk",
    "68": "Lâm Đồng",
    "75": "Đồng Nai",
    "79": "TP Hồ Chí Minh",
    "80": "Tây Ninh",
    "82": "Đồng Tháp",
    "86": "Vĩnh Long",
    "91": "An Giang",
    "92": "Cần Thơ",
    "96": "Cà Mau",
}
CITIES = {"01", "31", "46", "48", "79", "92"}


def test_there_are_34_units_with_expected_codes_and_names() -> None:
    assert len(PROVINCES) == 34
    assert {p.code: p.name for p in PROVINCES} == EXPECTED_UNITS


def test_kinds() -> None:
    assert {p.code for p in PROVINCES if p.kind == "city"} == CITIES
    assert {p.kind for p in PROVINCES} == {"city", "province"}


def test_province_is_frozen() -> None:
    with pytest.raises(AttributeError):
        PROVINCES[0].name = "X"  # type: ignore[misc]


def test_province_by_code() -> None:
    assert province_by_code("79") == Province(code="79", name="TP Hồ Chí Minh", kind="city")
    assert province_by_code("01") == Province(code="01", name="Hà Nội", kind="city")
    assert province_by_code("02") is None
    assert province_by_code("") is None


def test_legacy_table_covers_63_old_units_and_all_new_codes() -> None:
    assert len(LEGACY_TO_NEW) == 63
    assert set(LEGACY_TO_NEW.values()) == set(EXPECTED_UNITS)
    for key in LEGACY_TO_NEW:
        assert key == fold(key)


@pytest.mark.parametrize(
    ("old_name", "code"),
    [
        ("Hà Giang", "08"),
        ("Yên Bái", "15"),
        ("Bắc Kạn", "19"),
        ("Vĩnh Phúc", "25"),
        ("Hòa Bình", "25"),
        ("Bắc Giang", "24"),
        ("Thái Bình", "33"),
        ("Hà Nam", "37"),
        ("Nam Định", "37"),
        ("Quảng Bình", "44"),
        ("Kon Tum", "51"),
        ("Bình Định", "52"),
        ("Ninh Thuận", "56"),
        ("Đắk Nông", "68"),
        ("Bình Thuận", "68"),
        ("Phú Yên", "66"),
        ("Bình Phước", "75"),
        ("Long An", "80"),
        ("Bến Tre", "86"),
        ("Trà Vinh", "86"),
        ("Tiền Giang", "82"),
        ("Bạc Liêu", "96"),
        ("Kiên Giang", "91"),
        ("Bình Dương", "79"),
        ("Bà Rịa - Vũng Tàu", "79"),
        ("Sóc Trăng", "92"),
        ("Hậu Giang", "92"),
        ("Quảng Nam", "48"),
        ("Hải Dương", "31"),
        ("Thừa Thiên Huế", "46"),
        ("Hồ Chí Minh", "79"),
    ],
)
def test_legacy_mappings(old_name: str, code: str) -> None:
    assert LEGACY_TO_NEW[fold(old_name)] == code
    found = find_province(old_name)
    assert found is not None
    assert found.code == code


@pytest.mark.parametrize("province", PROVINCES, ids=lambda p: p.code)
def test_every_new_unit_found_by_name_and_code(province: Province) -> None:
    assert find_province(province.name) == province
    assert find_province(province.name.upper()) == province
    assert find_province(fold(province.name)) == province
    assert find_province(province.code) == province


@pytest.mark.parametrize(("code", "name"), sorted(EXPECTED_UNITS.items()))
def test_units_that_kept_their_name_map_to_themselves(code: str, name: str) -> None:
    old_name = {"46": "Thừa Thiên Huế", "79": "Hồ Chí Minh"}.get(code, name)
    assert LEGACY_TO_NEW[fold(old_name)] == code


@pytest.mark.parametrize("legacy_key", sorted(LEGACY_TO_NEW))
def test_every_legacy_name_found_with_prefix(legacy_key: str) -> None:
    code = LEGACY_TO_NEW[legacy_key]
    for text in (legacy_key, f"Tỉnh {legacy_key}", f"T. {legacy_key.upper()}", f"Thành phố {legacy_key}"):
        found = find_province(text)
        assert found is not None, text
        assert found.code == code, text


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("HCM", "79"),
        ("TPHCM", "79"),
        ("TP.HCM", "79"),
        ("TP. HCM", "79"),
        ("Tp HCM", "79"),
        ("tp.hồ chí minh", "79"),
        ("Thành phố Hồ Chí Minh", "79"),
        ("Sài Gòn", "79"),
        ("Saigon", "79"),
        ("SG", "79"),
        ("BR-VT", "79"),
        ("Vũng Tàu", "79"),
        ("Tỉnh Bà Rịa–Vũng Tàu", "79"),
        ("HN", "01"),
        ("Ha Noi", "01"),
        ("Hanoi", "01"),
        ("TP Hà Nội", "01"),
        ("Đà Nẵng", "48"),
        ("Da Nang", "48"),
        ("Danang", "48"),
        ("Huế", "46"),
        ("TT Huế", "46"),
        ("TT-Huế", "46"),
        ("Thừa Thiên - Huế", "46"),
        ("T. Hà Giang", "08"),
        ("Tỉnh Đắc Lắc", "66"),
        ("Bắc Cạn", "19"),
        ("hoà bình", "25"),
        (" 79 ", "79"),
        ("1", "01"),
        ("Quận 1, TP HCM", "79"),
        ("Hà Nội, Việt Nam", "01"),
        ("\u00d0à Nẵng", "48"),
    ],
)
def test_find_province_aliases(text: str, code: str) -> None:
    found = find_province(text)
    assert found is not None
    assert found.code == code


@pytest.mark.parametrize(
    "text", ["", "  ", "DN", "xyz", "Tỉnh", "TP", "02", "100", "Việt Nam", "Paris, France"]
)
def test_find_province_unknown(text: str) -> None:
    assert find_province(text) is None


@given(st.text(max_size=30))
def test_find_province_never_crashes(text: str) -> None:
    result = find_province(text)
    assert result is None or result in PROVINCES


def test_province_choices_sorted_by_folded_name() -> None:
    choices = province_choices()
    assert len(choices) == 34
    assert [fold(name) for _, name in choices] == sorted(fold(name) for _, name in choices)
    assert set(choices) == {(p.code, p.name) for p in PROVINCES}
    assert choices[0] == ("91", "An Giang")
    assert choices[-1] == ("86", "Vĩnh Long")
