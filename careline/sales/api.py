"""/api/v1/inquiries, /api/v1/leads, /api/v1/hooks — thin adapters over sales.services and sales.selectors."""

from __future__ import annotations

from ninja import Router

inquiries_router = Router(tags=["inquiries"])
leads_router = Router(tags=["leads"])
# Signed webhooks (Standard Webhooks): authenticated by signature, not by a user token.
hooks_router = Router(tags=["webhooks"], auth=None)
