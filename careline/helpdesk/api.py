"""/api/v1/tickets and /api/v1/helpdesk — thin adapters over helpdesk.services and helpdesk.selectors."""

from __future__ import annotations

from ninja import Router

tickets_router = Router(tags=["tickets"])
# Categories, SLA policies, playbooks, canned replies, schedules.
config_router = Router(tags=["helpdesk settings"])
