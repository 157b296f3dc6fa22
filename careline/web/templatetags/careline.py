"""Template filters for Vietnamese display: money, phones, dates."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django import template
from django.utils import timezone

from careline.vn import format_phone, format_vnd, format_vnd_short, province_by_code

register = template.Library()


@register.filter
def vnd(value: Any) -> str:
    try:
        return format_vnd(int(value or 0))
    except (TypeError, ValueError):
        return ""


@register.filter
def vnd_short(value: Any) -> str:
    try:
        return format_vnd_short(int(value or 0))
    except (TypeError, ValueError):
        return ""


@register.filter
def phone(value: str) -> str:
    return format_phone(value) if value else ""


@register.filter
def province_name(code: str) -> str:
    p = province_by_code(code) if code else None
    return p.name if p else ""


@register.filter
def dmy(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, dt.date):
        return value.strftime("%d/%m/%Y")
    return ""


@register.filter
def get_item(mapping: Any, key: Any) -> Any:
    try:
        return mapping.get(key)
    except AttributeError:
        return None


@register.filter
def address_line(customer: Any) -> str:
    """ "12 Nguyễn Trãi, Phường Thanh Xuân, Hà Nội" from the parts that are filled in."""
    parts = [customer.street, customer.ward, province_name(customer.province)]
    return ", ".join(p for p in parts if p)


def dmy_text(value: str) -> str:
    """An ISO date or datetime string from the audit log shown as dd/mm/yyyy (local time for datetimes)."""
    try:
        if "T" in value:
            return dmy(dt.datetime.fromisoformat(value))
        return dmy(dt.date.fromisoformat(value[:10]))
    except ValueError:
        return value
