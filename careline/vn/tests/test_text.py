"""Tests for careline.vn.text: NFC, accent folding and Vietnamese personal names."""

import unicodedata

import pytest
from hypothesis import given
from hypothesis import strategies as st

from careline.vn.text import fold, given_name, nfc, normalize_name, surname

VIETNAMESE_LOWER = "aàáảãạăằắẳẵặâầấẩẫậbcdđeèéẻẽẹêềếểễệghiìíỉĩịklmnoòóỏõọôồốổỗộơờớởỡợpqrstuùúủũụưừứửữựvxyỳýỷỹỵ"
VIETNAMESE_LETTERS = VIETNAMESE_LOWER + VIETNAMESE_LOWER.upper()

vietnamese_words = st.lists(
    st.text(alphabet=VIETNAMESE_LETTERS, min_size=1, max_size=8), min_size=1, max_size=5
)
vietnamese_text = st.text(alphabet=VIETNAMESE_LETTERS + " \t\n\u00a0", max_size=40)
lower_words = st.lists(st.text(alphabet=VIETNAMESE_LOWER, min_size=1, max_size=8), min_size=1, max_size=5)


def nfd(s: str) -> str:
    """Decompose ``s`` (as macOS and some browsers send Vietnamese text)."""
    return unicodedata.normalize("NFD", s)


# --- nfc -------------------------------------------------------------------------------------------


def test_nfc_composes_decomposed_text() -> None:
    assert nfc(nfd("Nguyễn Thị Lan")) == "Nguyễn Thị Lan"
    assert len(nfc(nfd("ễ"))) == 1


def test_nfc_replaces_eth_lookalikes() -> None:
    assert nfc("\u00d0ặng") == "\u0110ặng"
    assert nfc("\u00f0ường") == "\u0111ường"


def test_nfc_keeps_ascii() -> None:
    assert nfc("Nguyen Van A") == "Nguyen Van A"


@given(vietnamese_text)
def test_nfc_is_idempotent_and_nfd_insensitive(s: str) -> None:
    assert nfc(nfc(s)) == nfc(s)
    assert nfc(nfd(s)) == nfc(s)


# --- fold ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Nguyễn Thị Lan", "nguyen thi lan"),
        ("ĐẶNG  Văn  Ánh", "dang van anh"),
        ("  Trần\tThị\n Bích ", "tran thi bich"),
        ("\u00d0ặng \u00f0ức", "dang duc"),
        ("Hồ Chí Minh", "ho chi minh"),
        ("Thừa Thiên Huế", "thua thien hue"),
        ("Phạm Quỳnh Hương", "pham quynh huong"),
        ("", ""),
    ],
)
def test_fold_examples(text: str, expected: str) -> None:
    assert fold(text) == expected


def test_fold_nfd_input() -> None:
    assert fold(nfd("Nguyễn Thị Lan")) == "nguyen thi lan"
    assert fold(nfd("ĐẶNG Văn Ánh")) == "dang van anh"


def test_fold_drops_marks_introduced_by_casefold() -> None:
    # 'İ'.casefold() is 'i' + U+0307 COMBINING DOT ABOVE.
    assert fold("İstanbul") == "istanbul"


@given(st.text(max_size=40))
def test_fold_is_idempotent(s: str) -> None:
    assert fold(fold(s)) == fold(s)


@given(vietnamese_text)
def test_fold_of_vietnamese_is_ascii_lowercase(s: str) -> None:
    folded = fold(s)
    assert folded.isascii()
    assert folded == folded.lower()
    assert "  " not in folded
    assert folded == folded.strip()


@given(vietnamese_text)
def test_fold_ignores_normalisation_form(s: str) -> None:
    assert fold(nfd(s)) == fold(s) == fold(unicodedata.normalize("NFC", s))


@given(vietnamese_words)
def test_fold_keeps_word_count(words: list[str]) -> None:
    assert len(fold(" ".join(words)).split(" ")) == len(words)


# --- names -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("nguyễn văn a", "Nguyễn Văn A"),
        ("TRẦN THỊ BÍCH", "Trần Thị Bích"),
        ("  lê   thị  \t hồng ", "Lê Thị Hồng"),
        ("McDonald Trần", "McDonald Trần"),
        ("nguyễn Văn an", "nguyễn Văn an"),
        ("\u00d0ẶNG VĂN ÁNH", "Đặng Văn Ánh"),
        ("", ""),
        ("   ", ""),
    ],
)
def test_normalize_name(raw: str, expected: str) -> None:
    assert normalize_name(raw) == expected


def test_normalize_name_composes_nfd() -> None:
    result = normalize_name(nfd("nguyễn thị lan"))
    assert result == "Nguyễn Thị Lan"
    assert unicodedata.is_normalized("NFC", result)


@given(lower_words)
def test_normalize_name_capitalises_each_word(words: list[str]) -> None:
    result = normalize_name(" ".join(words))
    parts = result.split(" ")
    assert len(parts) == len(words)
    for part, word in zip(parts, words, strict=True):
        assert part[0] == word[0].upper()
        assert part[1:] == word[1:]


@given(vietnamese_words)
def test_normalize_name_is_idempotent(words: list[str]) -> None:
    once = normalize_name("  ".join(words))
    assert normalize_name(once) == once


@pytest.mark.parametrize(
    ("full_name", "given", "family"),
    [
        ("Nguyễn Thị Lan", "Lan", "Nguyễn"),
        ("trần văn minh", "Minh", "Trần"),
        ("  Lan  ", "Lan", ""),
        ("Tôn Nữ Thị Ninh", "Ninh", "Tôn"),
        ("", "", ""),
    ],
)
def test_given_name_and_surname(full_name: str, given: str, family: str) -> None:
    assert given_name(full_name) == given
    assert surname(full_name) == family
