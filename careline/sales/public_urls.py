"""Public pages (no login): the embeddable lead form `/f/<public_key>/` (see sales/public_views.py)."""

from django.urls import path

from careline.sales import public_views

app_name = "forms"

urlpatterns = [
    path("<str:public_key>/", public_views.form_page, name="form"),
    path("<str:public_key>/submit", public_views.submit, name="submit"),
    path("<str:public_key>/thanks/", public_views.thanks_page, name="thanks"),
]
