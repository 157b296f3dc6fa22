"""Public survey pages (no login): `/s/<token>/`."""

from django.urls import path  # noqa: F401

app_name = "survey_public"

urlpatterns: list = []
