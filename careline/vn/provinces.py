"""Vietnam's provincial-level administrative units (tỉnh, thành phố trực thuộc trung ương).

Since 1 July 2025 (Resolution 202/2025/QH15) there are 34 units: 6 centrally-run cities and 28
provinces, replacing the 63 units in use before. Codes are the national statistics (NSO/GSO) codes,
which the merged units inherited from one of their predecessors. Customer data imported from older
systems still uses the 63 old names, so :data:`LEGACY_TO_NEW` and :func:`find_province` map them to
the unit they belong to now.
"""

import re
from dataclasses import dataclass

from careline.vn.text import fold

__all__ = [
    "LEGACY_TO_NEW",
    "PROVINCES",
    "Province",
    "find_province",
    "province_by_code",
    "province_choices",
]


@dataclass(frozen=True, slots=True)
class Province:
    """A provincial-level unit: NSO ``code`` ("01"), display ``name`` and ``kind`` ("city" or "province")."""

    code: str
    name: str
    kind: str


def _p(code: str, name: str, kind: str = "province") -> Province:
    """Shorthand constructor used to build :data:`PROVINCES`."""
    return Province(code=code, name=name, kind=kind)


PROVINCES: tuple[Province, ...] = (
    _p("01", "Hà Nội", "city"),
    _p("04", "Cao Bằng"),
    _p("08", "Tuyên Quang"),
    _p("11", "Điện Biên"),
    _p("12", "Lai Châu"),
    _p("14", "Sơn La"),
    _p("15", "Lào Cai"),
    _p("19", "Thái Nguyên"),
    _p("20", "Lạng Sơn"),
    _p("22", "Quảng Ninh"),
    _p("24", "Bắc Ninh"),
    _p("25", "Phú Thọ"),
    _p("31", "Hải Phòng", "city"),
    _p("33", "Hưng Yên"),
    _p("37", "Ninh Bình"),
    _p("38", "Thanh Hóa"),
    _p("40", "Nghệ An"),
    _p("42", "Hà Tĩnh"),
    _p("44", "Quảng Trị"),
    _p("46", "Huế", "city"),
    _p("48", "Đà Nẵng", "city"),
    _p("51", "Quảng Ngãi"),
    _p("52", "Gia Lai"),
    _p("56", "Khánh Hòa"),
    _p("66", "Đắk Lắk"),
    _p("68", "Lâm Đồng"),
    _p("75", "Đồng Nai"),
    _p("79", "TP Hồ Chí Minh", "city"),
    _p("80", "Tây Ninh"),
    _p("82", "Đồng Tháp"),
    _p("86", "Vĩnh Long"),
    _p("91", "An Giang"),
    _p("92", "Cần Thơ", "city"),
    _p("96", "Cà Mau"),
)

_BY_CODE: dict[str, Province] = {p.code: p for p in PROVINCES}

# The 63 provincial-level units before 1 July 2025 → the code of the unit they are part of now.
_LEGACY_NAMES: dict[str, str] = {
    # Unchanged units.
    "Hà Nội": "01",
    "Cao Bằng": "04",
    "Điện Biên": "11",
    "Lai Châu": "12",
    "Sơn La": "14",
    "Lạng Sơn": "20",
    "Quảng Ninh": "22",
    "Thanh Hóa": "38",
    "Nghệ An": "40",
    "Hà Tĩnh": "42",
    "Thừa Thiên Huế": "46",
    # Merged units: the unit whose name and code were kept, then the units merged into it.
    "Tuyên Quang": "08",
    "Hà Giang": "08",
    "Lào Cai": "15",
    "Yên Bái": "15",
    "Thái Nguyên": "19",
    "Bắc Kạn": "19",
    "Phú Thọ": "25",
    "Vĩnh Phúc": "25",
    "Hòa Bình": "25",
    "Bắc Ninh": "24",
    "Bắc Giang": "24",
    "Hưng Yên": "33",
    "Thái Bình": "33",
    "Hải Phòng": "31",
    "Hải Dương": "31",
    "Ninh Bình": "37",
    "Hà Nam": "37",
    "Nam Định": "37",
    "Quảng Trị": "44",
    "Quảng Bình": "44",
    "Đà Nẵng": "48",
    "Quảng Nam": "48",
    "Quảng Ngãi": "51",
    "Kon Tum": "51",
    "Gia Lai": "52",
    "Bình Định": "52",
    "Khánh Hòa": "56",
    "Ninh Thuận": "56",
    "Lâm Đồng": "68",
    "Đắk Nông": "68",
    "Bình Thuận": "68",
    "Đắk Lắk": "66",
    "Phú Yên": "66",
    "Hồ Chí Minh": "79",
    "Bình Dương": "79",
    "Bà Rịa - Vũng Tàu": "79",
    "Đồng Nai": "75",
    "Bình Phước": "75",
    "Tây Ninh": "80",
    "Long An": "80",
    "Cần Thơ": "92",
    "Sóc Trăng": "92",
    "Hậu Giang": "92",
    "Vĩnh Long": "86",
    "Bến Tre": "86",
    "Trà Vinh": "86",
    "Đồng Tháp": "82",
    "Tiền Giang": "82",
    "Cà Mau": "96",
    "Bạc Liêu": "96",
    "An Giang": "91",
    "Kiên Giang": "91",
}

LEGACY_TO_NEW: dict[str, str] = {fold(name): code for name, code in _LEGACY_NAMES.items()}

# Unambiguous short forms and spelling variants, in lookup-key form (see _key). Names written without
# spaces ("Hanoi", "Danang", "TPHCM") are matched through the space-less index, so are not listed.
_ALIASES: dict[str, str] = {
    "hn": "01",
    "hcm": "79",
    "hcmc": "79",
    "tp hcm": "79",
    "ho chi minh city": "79",
    "sai gon": "79",
    "sg": "79",
    "br vt": "79",
    "vung tau": "79",
    "tt hue": "46",
    "bac can": "19",
    "dac lac": "66",
    "dak lac": "66",
}

# Administrative prefixes people write before a name: "Tỉnh", "T.", "Thành phố", "TP", "TP.", "Tp".
_PREFIX = re.compile(r"^(?:tinh|thanh pho|tp|t)\s+")


def _key(text: str) -> str:
    """Lookup key: folded, punctuation ('-', '.', '_', '(' …) turned into spaces, whitespace collapsed."""
    return " ".join(re.sub(r"[-–—.,_/()'’]", " ", fold(text)).split())


_INDEX: dict[str, str] = {
    **{_key(name): code for name, code in LEGACY_TO_NEW.items()},
    **{_key(p.name): p.code for p in PROVINCES},
    **_ALIASES,
}
_INDEX_NO_SPACES: dict[str, str] = {key.replace(" ", ""): code for key, code in _INDEX.items()}


def province_by_code(code: str) -> Province | None:
    """Return the province with NSO ``code`` ("01", "79" …), or None."""
    return _BY_CODE.get(code.strip())


def _lookup(text: str) -> Province | None:
    """Find a province for one name (no commas), trying with and without an administrative prefix."""
    key = _key(text)
    if not key:
        return None
    if key.isdigit() and len(key) <= 2:
        return province_by_code(key.zfill(2))
    for candidate in (key, _PREFIX.sub("", key)):
        code = _INDEX.get(candidate) or _INDEX_NO_SPACES.get(candidate.replace(" ", ""))
        if code is not None:
            return _BY_CODE[code]
    return None


def find_province(text: str) -> Province | None:
    """Find a province by new or pre-2025 name, short form or code, ignoring accents, case and prefixes.

    ``find_province("TP.HCM")``, ``find_province("Sài Gòn")`` and ``find_province("Bình Dương")`` all
    return TP Hồ Chí Minh (79). For an address such as "Quận 1, TP HCM" the comma-separated parts are
    tried from the last one. Ambiguous abbreviations ("DN": Đà Nẵng or Đồng Nai?) are not recognised.
    """
    found = _lookup(text)
    if found is None and "," in text:
        for part in reversed(text.split(",")):
            found = _lookup(part)
            if found is not None:
                break
    return found


def province_choices() -> list[tuple[str, str]]:
    """Return ``(code, name)`` pairs for form select fields, sorted by folded Vietnamese name."""
    return [(p.code, p.name) for p in sorted(PROVINCES, key=lambda p: fold(p.name))]
