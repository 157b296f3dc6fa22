"""Field types for API schemas that refuse what people would not mean (the schemathesis test checks it).

`IsoDate` is the one way a query-string date is read (`?date=`, `?from=`, `?to=` of every router): written
YYYY-MM-DD and a real day — pydantic alone would read `date=0` as 1970-01-01 and `20260301` as a date. A
date not given is a parameter left out: an empty value (`?from=`) is not a date either (the published schema
says `format: date`, and the schemathesis test sends `from=` expecting a refusal). Anything else answers 422
`validation_error` with `details.fields` = `{"<parameter>": ["Use a real date, YYYY-MM-DD."]}` (in the
caller's language), see docs/api.md § Errors."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from django.utils.translation import gettext
from pydantic import BeforeValidator
from pydantic_core import PydanticCustomError

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _iso_date(value: Any) -> dt.date:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass  # 2026-02-30, 2026-13-01
    # Read at validation time, so the message follows the request's language.
    raise PydanticCustomError("iso_date", gettext("Use a real date, YYYY-MM-DD."))


# An optional query date: `IsoDate | None = Field(None, description=...)`.
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date)]
