"""/api/v1/activities — thin adapters over activities.services and activities.selectors."""

from __future__ import annotations

from ninja import Router

router = Router(tags=["activities"])
