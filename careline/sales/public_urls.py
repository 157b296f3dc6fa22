"""Public pages (no login): the embeddable lead form `/f/<public_key>/`."""

from django.urls import path  # noqa: F401

app_name = "forms"

urlpatterns: list = []
