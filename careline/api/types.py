"""Field types for API schemas that refuse what people would not mean (the schemathesis test checks it):
a query date must be written YYYY-MM-DD — pydantic alone would read `date=0` as 1970-01-01."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import BeforeValidator

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> Any:
    if value is None or isinstance(value, dt.date):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        return value
    raise ValueError("Use a date written YYYY-MM-DD.")


IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
