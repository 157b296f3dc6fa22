"""/api/v1/quotas — thin adapters over kpis.services and kpis.selectors."""

from __future__ import annotations

from ninja import Router

quotas_router = Router(tags=["quotas"])
