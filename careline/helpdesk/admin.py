"""Admin pages for the helpdesk's settings (categories, SLA policies, working hours, playbooks, canned
replies, agent profiles, team rotations) and a read-only view of tickets. Rules live in the services: the
API (`/api/v1/helpdesk`) validates settings; tickets change only through the services."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from careline.helpdesk.models import (
    AgentProfile,
    CannedReply,
    Category,
    Message,
    Playbook,
    SlaPolicy,
    TeamRotation,
    Ticket,
    TicketEvent,
    WorkSchedule,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("__str__", "team", "default_priority", "position", "active")
    list_filter = ("active", "team")
    search_fields = ("name",)
    autocomplete_fields = ("parent",)


@admin.register(SlaPolicy)
class SlaPolicyAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "position",
        "active",
        "priority",
        "category",
        "tier",
        "first_response_minutes",
        "resolution_minutes",
        "warn_before_minutes",
    )
    list_filter = ("active", "priority")
    ordering = ("position", "id")


@admin.register(WorkSchedule)
class WorkScheduleAdmin(admin.ModelAdmin):
    list_display = ("__str__", "intervals", "weekend", "holidays_enabled")


@admin.register(Playbook)
class PlaybookAdmin(admin.ModelAdmin):
    list_display = ("category", "active", "involve")
    list_filter = ("active",)


@admin.register(CannedReply)
class CannedReplyAdmin(admin.ModelAdmin):
    list_display = ("title", "category", "language", "active")
    list_filter = ("active", "language", "category")
    search_fields = ("title", "body")


@admin.register(AgentProfile)
class AgentProfileAdmin(admin.ModelAdmin):
    list_display = ("user", "takes_tickets", "max_open_tickets", "skills")
    list_filter = ("takes_tickets",)
    search_fields = ("user__username", "user__display_name")


@admin.register(TeamRotation)
class TeamRotationAdmin(admin.ModelAdmin):
    list_display = ("team", "strategy")
    readonly_fields = ("rotation",)


class MessageInline(admin.TabularInline):
    model = Message
    extra = 0
    fields = ("created_at", "direction", "author", "body", "delivery_status")
    readonly_fields = fields
    can_delete = False


class EventInline(admin.TabularInline):
    model = TicketEvent
    extra = 0
    fields = ("created_at", "kind", "from_value", "to_value", "actor", "note")
    readonly_fields = fields
    can_delete = False


@admin.register(Ticket)
class TicketAdmin(admin.ModelAdmin):
    """Read-only: tickets change through the services (status flow, clocks, audit)."""

    list_display = ("__str__", "customer", "status", "priority", "assignee", "team", "opened_at")
    list_filter = ("status", "priority", "kind", "channel")
    search_fields = ("subject", "search_text")
    date_hierarchy = "opened_at"
    inlines = (MessageInline, EventInline)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
