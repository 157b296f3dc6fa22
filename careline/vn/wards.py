"""Wards and communes (phường / xã / đặc khu) of the two-level structure in force since 1 July 2025.

Data: `data/wards_2025.tsv` (province code, NSO ward code, full name), 3,321 units, extracted from the
MIT-licensed `vietnamadminunits` 1.0.4 dataset (see `data/LICENSE.vietnamadminunits`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

from careline.vn.text import fold

DATA = Path(__file__).with_name("data") / "wards_2025.tsv"
PREFIXES = ("phuong ", "xa ", "dac khu ", "p. ", "p.", "x. ", "x.")


@dataclass(frozen=True)
class Ward:
    province_code: str
    code: str
    name: str  # full name, e.g. "Phường Ba Đình"

    @property
    def short_name(self) -> str:
        for prefix in ("Phường ", "Xã ", "Đặc khu "):
            if self.name.startswith(prefix):
                return self.name[len(prefix) :]
        return self.name


@cache
def _all() -> tuple[Ward, ...]:
    rows = []
    for line in DATA.read_text(encoding="utf-8").splitlines():
        province, code, name = line.split("\t")
        rows.append(Ward(province, code, name))
    return tuple(rows)


@cache
def _by_province() -> dict[str, tuple[Ward, ...]]:
    out: dict[str, list[Ward]] = {}
    for ward in _all():
        out.setdefault(ward.province_code, []).append(ward)
    return {k: tuple(sorted(v, key=lambda w: fold(w.name))) for k, v in out.items()}


def wards_of(province_code: str) -> tuple[Ward, ...]:
    """All wards of a province, sorted by folded name."""
    return _by_province().get(province_code, ())


def _key(text: str) -> str:
    folded = fold(text).replace(".", ". ").replace("  ", " ").strip()
    for prefix in PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix) :].strip()
    return folded


def find_ward(province_code: str, text: str) -> Ward | None:
    """The ward of `province_code` named `text` (case and the "Phường/Xã" prefix optional) or with that NSO
    code. Accents may be left out unless that makes the name ambiguous ("Văn Lăng" vs "Văn Lang"), and a bare
    name two wards share (a "Phường X" and a "Xã X") is ambiguous too: both → None."""
    text = (text or "").strip()
    if not text or not province_code:
        return None
    wards = wards_of(province_code)
    digits = text.lstrip("0")
    if text.isdigit():
        return next((w for w in wards if w.code.lstrip("0") == digits), None)
    typed = " ".join(text.split()).casefold()
    accented = [w for w in wards if w.name.casefold() == typed or w.short_name.casefold() == typed]
    if len(accented) == 1:
        return accented[0]
    full = fold(text)
    exact = [w for w in wards if fold(w.name) == full]
    if len(exact) == 1:
        return exact[0]
    key = _key(text)
    matches = [w for w in wards if _key(w.name) == key]
    return matches[0] if len(matches) == 1 else None
