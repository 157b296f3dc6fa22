"""Helpdesk pages. Only the ticket list and a ticket page for now (links from notifications and the API
land here); the agent workspace builds on them."""

from django.urls import path

from careline.helpdesk import views

app_name = "helpdesk"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("<int:ticket_id>/", views.ticket_detail, name="detail"),
]
