"""Vietnamese tax codes (mã số thuế, MST).

An enterprise MST has 10 digits, the last being a check digit; a branch (chi nhánh) or dependent unit
adds a 3-digit suffix written ``0101234567-001``. Validation (length, components, check digit) is
delegated to :mod:`stdnum.vn.mst`.
"""

import re

from stdnum import exceptions as stdnum_exceptions
from stdnum.vn import mst

__all__ = ["InvalidTaxCode", "is_valid_tax_code", "normalize_tax_code"]

_FULLWIDTH_DIGITS = str.maketrans({chr(0xFF10 + i): str(i) for i in range(10)})
# Separators people type inside a tax code: spaces, dots, hyphens and dashes.
_SEPARATORS = re.compile(r"[\s.\-–]+")


class InvalidTaxCode(ValueError):
    """Raised when a string is not a valid Vietnamese tax code."""


def normalize_tax_code(raw: str) -> str:
    """Return the tax code in canonical form: ``"0101234567"`` or ``"0101234567-001"`` for a branch.

    Accepts spaces, dots and hyphens anywhere (``"0101 234 567"``, ``"0101234567001"``).
    Raises :class:`InvalidTaxCode` when the length, digits or check digit are wrong.
    """
    compact = _SEPARATORS.sub("", str(raw).translate(_FULLWIDTH_DIGITS))
    if not compact:
        raise InvalidTaxCode("Tax code is empty.")
    if not compact.isascii() or not compact.isdigit():
        raise InvalidTaxCode(f"{raw!r} is not a tax code: it may only contain digits, spaces, dots and '-'.")
    if len(compact) not in (10, 13):
        raise InvalidTaxCode(
            f"{raw!r} is not a tax code: it must have 10 digits, or 13 for a branch (0101234567-001); "
            f"it has {len(compact)}."
        )
    try:
        mst.validate(compact)
    except stdnum_exceptions.InvalidChecksum as exc:
        raise InvalidTaxCode(
            f"{raw!r} is not a valid tax code: the check digit (10th digit) is wrong."
        ) from exc
    except stdnum_exceptions.InvalidComponent as exc:
        raise InvalidTaxCode(
            f"{raw!r} is not a valid tax code: the sequence number or the branch number (001-999) is zero."
        ) from exc
    except stdnum_exceptions.ValidationError as exc:
        raise InvalidTaxCode(f"{raw!r} is not a valid tax code.") from exc
    return compact if len(compact) == 10 else f"{compact[:10]}-{compact[10:]}"


def is_valid_tax_code(raw: str) -> bool:
    """True when :func:`normalize_tax_code` accepts ``raw``."""
    try:
        normalize_tax_code(raw)
    except InvalidTaxCode:
        return False
    return True
