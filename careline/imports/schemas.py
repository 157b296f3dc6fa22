from __future__ import annotations

import datetime as dt
from typing import Any

from ninja import Field, Schema


class JobStarted(Schema):
    job_id: int


class RowErrorOut(Schema):
    row: int = Field(..., description="Spreadsheet row number (the header is row 1)")
    column: str
    value: str
    message: str


class JobOut(Schema):
    id: int
    kind: str
    entity: str
    status: str = Field(..., description="pending | running | succeeded | failed")
    total: int
    processed: int
    created: int
    updated: int
    skipped: int
    failed: int
    errors: list[RowErrorOut]
    error_report_url: str | None
    result_url: str | None
    message: str
    source_name: str
    created_at: dt.datetime
    finished_at: dt.datetime | None


class PreviewOut(Schema):
    format: str
    headers: list[str]
    columns: list[str] = Field(..., description="The target field of each column (auto-detected or yours)")
    problems: list[str]
    rows: list[dict[str, Any]]
    errors: list[RowErrorOut]
    total: int
    encoding: str | None
    encoding_confident: bool
    encoding_candidates: list[str]
    sheet: str | None
    sheets: list[str]
