"""Template filters for quota pages: durations and rates."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.formats import number_format

register = template.Library()


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as m:ss (h:mm:ss from an hour); "—" when unknown."""
    if seconds is None or seconds == "":
        return "—"
    total = round(float(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if hours else f"{minutes}:{secs:02d}"


@register.filter
def rate(value: Any) -> str:
    """A 0–1 rate as a percentage with one decimal in the active locale (45,5 %); "—" when unknown."""
    if value is None or value == "":
        return "—"
    return f"{number_format(round(float(value) * 100, 1), decimal_pos=1)} %"


@register.filter
def amount(value: Any) -> str:
    """An expected count: whole numbers without decimals, others with one (12,5)."""
    number = round(float(value or 0), 1)
    return number_format(number, decimal_pos=0 if number == int(number) else 1)
