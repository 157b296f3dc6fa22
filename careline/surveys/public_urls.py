"""Public survey pages (no login): `/s/<token>/` (see surveys/public_views.py)."""

from django.urls import path

from careline.surveys import public_views

app_name = "survey_public"

urlpatterns = [
    path("<str:token>/", public_views.survey_page, name="survey"),
    path("<str:token>/thanks/", public_views.thanks_page, name="thanks"),
]
