"""Admin pages for the intake channels: web forms (with the embed snippet), webhook connectors (with
their endpoint and signing secret) and IMAP mailboxes (with a "poll now" action). A web form or connector
creates leads or, with destination "ticket", customer-care tickets (with a default kind and category).
Settings only: no rules live here."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils.html import escape, format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from careline.sales.models import Connector, Mailbox, WebForm


def embed_snippets(web_form: WebForm, base_url: str) -> dict[str, str]:
    """The two ways a site embeds a form: an iframe of our page, or its own HTML posting to /submit."""
    page = base_url + reverse("forms:form", args=[web_form.public_key])
    submit = base_url + reverse("forms:submit", args=[web_form.public_key])
    iframe = (
        f'<iframe src="{page}" title="{escape(web_form.name)}" loading="lazy"\n'
        '        style="width:100%;max-width:32rem;height:640px;border:0"></iframe>'
    )
    html_form = (
        f'<form method="post" action="{submit}">\n'
        '  <input name="full_name" placeholder="Họ và tên" required>\n'
        '  <input name="phone" type="tel" placeholder="Số điện thoại">\n'
        '  <input name="email" type="email" placeholder="Email">\n'
        '  <textarea name="message" placeholder="Bạn cần tư vấn gì?"></textarea>\n'
        '  <label><input type="checkbox" name="consent" value="1" required> Tôi đồng ý …</label>\n'
        "  <!-- honeypot: keep it empty and out of sight -->\n"
        '  <input name="website" tabindex="-1" autocomplete="off" style="position:absolute;left:-10000px">\n'
        '  <button type="submit">Gửi</button>\n'
        "</form>"
    )
    return {"iframe": iframe, "html": html_form}


@admin.register(WebForm)
class WebFormAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "public_key",
        "active",
        "destination",
        "branch",
        "team",
        "product_interest",
        "updated_at",
    )
    list_filter = ("active", "destination", "branch", "team")
    search_fields = ("name", "public_key")
    readonly_fields = ("public_key", "embed_code", "created_at", "updated_at")
    fields = (
        "name",
        "active",
        "destination",
        "ticket_kind",
        "ticket_category",
        "branch",
        "team",
        "product_interest",
        "consent_text",
        "success_message",
        "redirect_url",
        "allowed_origins",
        "public_key",
        "embed_code",
        "created_at",
        "updated_at",
    )

    @admin.display(description=_("embed code"))
    def embed_code(self, obj: WebForm) -> str:
        if not obj.pk:
            return gettext("Save the form first.")
        snippets = embed_snippets(obj, getattr(obj, "_embed_base", ""))
        return format_html(
            "<p>{}</p><pre style='white-space:pre-wrap'>{}</pre><p>{}</p><pre style='white-space:pre-wrap'>{}</pre>",
            gettext("Frame our page (its origin must be in the allowed origins):"),
            snippets["iframe"],
            gettext("Or post from the site's own HTML form:"),
            snippets["html"],
        )

    def get_object(self, request: HttpRequest, object_id: str, from_field: str | None = None) -> Any:
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:  # absolute URLs in the snippet: this site as the admin sees it
            obj._embed_base = request.build_absolute_uri("/").rstrip("/")
        return obj


@admin.register(Connector)
class ConnectorAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "destination", "active", "branch", "team", "last_delivery_at")
    list_filter = ("kind", "destination", "active")
    search_fields = ("name", "slug")
    readonly_fields = ("endpoint", "last_delivery_at", "created_at", "updated_at")
    fields = (
        "name",
        "slug",
        "kind",
        "active",
        "destination",
        "ticket_kind",
        "ticket_category",
        "branch",
        "team",
        "secret",
        "endpoint",
        "last_delivery_at",
        "created_at",
        "updated_at",
    )
    prepopulated_fields = {"slug": ("name",)}

    @admin.display(description=_("endpoint"))
    def endpoint(self, obj: Connector) -> str:
        if not obj.slug:
            return "—"
        return f"POST /api/v1/hooks/{obj.slug}"


class MailboxForm(forms.ModelForm):
    password = forms.CharField(
        label=_("password"),
        widget=forms.PasswordInput(render_value=False),
        required=False,
        help_text=_("Leave empty to keep the current password."),
    )

    class Meta:
        model = Mailbox
        fields = (
            "name",
            "host",
            "port",
            "use_ssl",
            "username",
            "password",
            "folder",
            "active",
            "branch",
            "team",
        )

    def clean_password(self) -> str:
        value = self.cleaned_data.get("password") or ""
        if not value and self.instance.pk:
            return self.instance.password
        if not value:
            raise forms.ValidationError(gettext("Enter the mailbox password."))
        return value


@admin.register(Mailbox)
class MailboxAdmin(admin.ModelAdmin):
    form = MailboxForm
    list_display = ("name", "host", "username", "folder", "active", "last_polled_at", "last_uid", "has_error")
    list_filter = ("active",)
    search_fields = ("name", "host", "username")
    readonly_fields = ("last_uid", "uid_validity", "last_polled_at", "last_error", "created_at", "updated_at")
    actions = ["poll_now"]

    @admin.display(boolean=True, description=_("error"))
    def has_error(self, obj: Mailbox) -> bool:
        return bool(obj.last_error)

    @admin.action(description=_("Read new mail now"))
    def poll_now(self, request: HttpRequest, queryset: QuerySet[Mailbox]) -> None:
        from careline.sales.mail import mailbox_poll

        for mailbox in queryset:
            result = mailbox_poll(mailbox)
            level = messages.ERROR if result.errors else messages.SUCCESS
            self.message_user(
                request,
                gettext("%(name)s: %(new)s new, %(skipped)s skipped, %(errors)s errors")
                % {
                    "name": mailbox.name,
                    "new": result.new,
                    "skipped": result.skipped,
                    "errors": result.errors,
                },
                level,
            )
