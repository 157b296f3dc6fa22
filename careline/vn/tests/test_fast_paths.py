"""The fast paths of fold(), format_phone() and phone_search_tokens() give exactly the slow paths' results."""

import phonenumbers
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneNumberFormat

from careline.vn import phones
from careline.vn.text import _fold_cached, fold


def slow_format(e164: str) -> str:
    number = phonenumbers.parse(e164, None)
    national = "0" + str(number.national_number)
    return f"{national[:4]} {national[4:7]} {national[7:]}"


def slow_tokens(e164: str) -> list[str]:
    number = phonenumbers.parse(e164, None)
    national = phones.digits_of(phonenumbers.format_number(number, PhoneNumberFormat.NATIONAL))
    return [national, f"84{number.national_number}"]


@settings(max_examples=500)
@given(st.sampled_from(sorted(phones._fast_mobile_prefixes())), st.integers(0, 999_999))
def test_fast_mobile_paths_equal_phonenumbers(prefix, tail):
    e164 = f"+84{prefix}{tail:06d}"
    number = phonenumbers.parse(e164, None)
    assume(phonenumbers.is_valid_number(number))  # stored numbers are always validated first
    assert phones.format_phone(e164) == slow_format(e164)
    assert phones.phone_search_tokens(e164) == slow_tokens(e164)


def test_fast_prefixes_cover_the_common_networks_and_not_landlines():
    assert {"912", "983", "903", "386", "707", "868", "562"} <= phones._fast_mobile_prefixes()
    assert not any(p.startswith(("24", "28")) for p in phones._fast_mobile_prefixes())
    assert phones.format_phone("+842438261234") == "024 3826 1234"


@given(st.text(alphabet=st.characters(codec="ascii"), max_size=40))
def test_ascii_fold_equals_the_general_fold(text):
    assert fold(text) == _fold_cached.__wrapped__(text)
