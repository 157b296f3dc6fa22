"""Staff pages under /surveys/ (the public page is in public_urls.py at /s/)."""

from django.urls import path

from careline.surveys import views

app_name = "surveys"

urlpatterns = [
    path("", views.results, name="results"),
    path("responses/", views.responses, name="responses"),
    path("manage/", views.survey_list, name="list"),
    path("manage/new/", views.survey_create, name="create"),
    path("manage/<int:survey_id>/", views.survey_edit, name="edit"),
    path("record/", views.record, name="record"),
    path("invite/", views.invite, name="invite"),
    path("invitations/<int:invitation_id>/", views.invitation, name="invitation"),
]
