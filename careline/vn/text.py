"""Vietnamese text helpers: Unicode normalisation, accent folding for search, and personal names.

Vietnamese text arrives in several encodings of the same letters: precomposed (NFC, what keyboards
like Unikey produce by default), decomposed (NFD, common from macOS and some web forms), and with
look-alike characters such as the Icelandic eth 'Ð' (U+00D0) typed instead of 'Đ' (U+0110).
Everything stored should go through :func:`nfc`; everything searched should go through :func:`fold`.
"""

import unicodedata
from functools import lru_cache

__all__ = ["fold", "given_name", "nfc", "normalize_name", "surname"]

# Characters that look identical to Vietnamese letters but are different code points.
_LOOKALIKES = str.maketrans({"\u00d0": "\u0110", "\u00f0": "\u0111"})  # Ð→Đ, ð→đ
# Every form of the letter d-with-stroke (and its look-alikes) folds to plain 'd'.
_D_TO_ASCII = str.maketrans({"\u0110": "d", "\u0111": "d", "\u00d0": "d", "\u00f0": "d"})


def nfc(s: str) -> str:
    """Return ``s`` in NFC with look-alike characters replaced ('Ð' U+00D0 → 'Đ', 'ð' U+00F0 → 'đ')."""
    return unicodedata.normalize("NFC", s).translate(_LOOKALIKES)


def _strip_marks(s: str) -> str:
    """Decompose ``s`` and drop every non-spacing combining mark (category Mn)."""
    return "".join(ch for ch in unicodedata.normalize("NFD", s) if unicodedata.category(ch) != "Mn")


def fold(s: str) -> str:
    """Fold ``s`` for accent- and case-insensitive search.

    NFC → NFD → drop combining marks → đ/Đ → d → casefold → collapse whitespace.
    ``fold("Nguyễn Thị Lan") == "nguyen thi lan"``; NFC and NFD input give the same result.
    """
    if s.isascii():  # nothing to strip: the common case for queries and emails
        return " ".join(s.lower().split())
    return _fold_cached(s)


@lru_cache(maxsize=65536)
def _fold_cached(s: str) -> str:
    """fold() for non-ASCII text; names repeat a lot (bulk loads), so results are cached."""
    folded = _strip_marks(nfc(s)).translate(_D_TO_ASCII).casefold()
    # casefold() can itself introduce combining marks (e.g. 'İ' → 'i̇'), so strip once more.
    folded = _strip_marks(folded).translate(_D_TO_ASCII)
    return " ".join(folded.split())


def _capitalise_word(word: str) -> str:
    """Upper-case the first character of ``word`` and lower-case the rest."""
    return word[:1].upper() + word[1:].lower()


def normalize_name(s: str) -> str:
    """Normalise a person's name as typed into a form or spreadsheet.

    Applies :func:`nfc`, strips and collapses whitespace, and — only when the name was typed all in
    lower case or all in upper case — capitalises each word ("TRẦN THỊ BÍCH" → "Trần Thị Bích").
    Mixed-case input such as "McDonald Trần" is kept as typed.
    """
    name = " ".join(nfc(s).split())
    if name in (name.lower(), name.upper()):
        name = " ".join(_capitalise_word(word) for word in name.split(" "))
    return name


def given_name(full_name: str) -> str:
    """Return the Vietnamese given name (the last word) of ``full_name``, or "" when it is empty.

    Used for greetings ("Chào chị Lan") and for sorting lists the Vietnamese way.
    """
    words = normalize_name(full_name).split()
    return words[-1] if words else ""


def surname(full_name: str) -> str:
    """Return the family name (the first word) of ``full_name`` when it has at least two words, else ""."""
    words = normalize_name(full_name).split()
    return words[0] if len(words) >= 2 else ""
