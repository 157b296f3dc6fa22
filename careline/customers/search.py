"""How the one search box reads a query, and the folded text each customer is matched against.

Matching is the same on SQLite and PostgreSQL: `search_text` holds ASCII-folded, space-separated tokens
(name words, phone digits in national and international form, emails, tax code), starting and ending
with a space. A name query matches when every query word starts a token (`LIKE '% lan%'`); phone
fragments (≥ 4 digits) and email text match anywhere. PostgreSQL serves these LIKEs from a pg_trgm
GIN index on the column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from careline.vn import (
    InvalidPhone,
    digits_of,
    fold,
    looks_like_phone_query,
    normalize_phone,
    phone_search_tokens,
)


def customer_search_text(
    *,
    full_name: str,
    phones: Iterable[str] = (),
    emails: Iterable[str] = (),
    tax_code: str = "",
    extra: Iterable[str] = (),
) -> str:
    """The folded search column for one customer (phones are E.164, emails lower-case)."""
    tokens: list[str] = fold(full_name).split()
    for phone in phones:
        tokens.extend(phone_search_tokens(phone))
    tokens.extend(fold(e) for e in emails if e)
    if tax_code:
        tokens.append(tax_code)
        if "-" in tax_code:
            tokens.append(tax_code.replace("-", ""))
    for text in extra:
        tokens.extend(fold(text).split())
    return " " + " ".join(t for t in tokens if t) + " "


@dataclass(frozen=True)
class ParsedQuery:
    """A search box query: what kind it is, the LIKE patterns, and exact contact values to rank first."""

    kind: str  # "empty" | "name" | "phone" | "email"
    text: str = ""  # folded query
    contains: tuple[str, ...] = ()  # substrings of search_text that must all be present
    exact_phones: tuple[str, ...] = ()
    exact_emails: tuple[str, ...] = ()
    tokens: tuple[str, ...] = field(default_factory=tuple)


def parse_query(raw: str | None) -> ParsedQuery:
    text = fold(raw or "")
    if not text:
        return ParsedQuery(kind="empty")
    if "@" in text:
        return ParsedQuery(kind="email", text=text, contains=(text,), exact_emails=(text,))
    if looks_like_phone_query(raw or ""):
        digits = digits_of(raw or "")
        exact: tuple[str, ...] = ()
        try:
            exact = (normalize_phone(raw or ""),)
        except InvalidPhone:
            exact = ()
        if digits.startswith("84") and len(digits) >= 11:
            digits = "0" + digits[2:]  # +84 912 345 … matches the national form token
        return ParsedQuery(kind="phone", text=digits, contains=(digits,), exact_phones=exact)
    tokens = tuple(dict.fromkeys(text.split()))
    # `text` keeps repeated words ("Phạm Văn Văn Hoa") so the exact-name rank compares the whole name.
    return ParsedQuery(kind="name", text=text, contains=tuple(" " + t for t in tokens), tokens=tokens)
