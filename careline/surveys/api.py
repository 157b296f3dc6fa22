"""/api/v1/surveys — thin adapters over surveys.services and surveys.selectors."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["surveys"])
