from hypothesis import given
from hypothesis import strategies as st

from careline.vn.provinces import PROVINCES
from careline.vn.text import fold
from careline.vn.wards import _all, find_ward, wards_of


def test_every_province_has_wards_and_total_is_3321():
    assert len(_all()) == 3321
    for province in PROVINCES:
        assert wards_of(province.code), province


def test_find_by_name_with_or_without_accents_and_prefix():
    ward = find_ward("01", "Phường Ba Đình")
    assert ward is not None and ward.code == "00004"
    assert find_ward("01", "ba dinh") == ward
    assert find_ward("01", "P. Ba Đình") == ward
    assert find_ward("01", "00004") == ward
    assert find_ward("01", "4") == ward


def test_unknown_or_other_province_is_none():
    assert find_ward("01", "Phường Không Có") is None
    assert find_ward("79", "Ba Đình") is None
    assert find_ward("", "Ba Đình") is None


def test_names_are_nfc_and_prefixed():
    for ward in _all():
        assert ward.name.split(" ")[0] in {"Phường", "Xã", "Đặc"}, ward
        assert ward.short_name and ward.short_name != ward.name


@given(st.sampled_from(_all()))
def test_every_ward_is_found_by_its_name_and_without_accents_when_unambiguous(ward):
    assert find_ward(ward.province_code, ward.name) == ward
    assert find_ward(ward.province_code, ward.name.upper()) == ward
    same_folded = [w for w in wards_of(ward.province_code) if fold(w.name) == fold(ward.name)]
    assert find_ward(ward.province_code, fold(ward.name)) == (ward if len(same_folded) == 1 else None)


def test_accent_twins_need_accents():
    assert find_ward("19", "Xã Văn Lăng").name == "Xã Văn Lăng"
    assert find_ward("19", "Xã Văn Lang").name == "Xã Văn Lang"
    assert find_ward("19", "xa van lang") is None
