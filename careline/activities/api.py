"""/api/v1/activities and /api/v1/quotas — thin adapters over activities.services and .selectors."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["activities"])
quotas_router = Router(tags=["quotas"])
