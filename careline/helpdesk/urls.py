"""Helpdesk pages: the agent workspace (queue), one ticket and its actions, a new ticket, settings."""

from django.urls import path

from careline.helpdesk import views

app_name = "helpdesk"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("new/", views.ticket_new, name="new"),
    path("<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("<int:ticket_id>/reply/", views.ticket_reply, name="reply"),
    path("<int:ticket_id>/assign/", views.ticket_assign, name="assign"),
    path("<int:ticket_id>/edit/", views.ticket_edit, name="edit"),
    path("<int:ticket_id>/playbook/", views.playbook_apply, name="playbook_apply"),
    path("<int:ticket_id>/playbook/<int:step>/", views.playbook_step, name="playbook_step"),
    path("<int:ticket_id>/<str:action>/", views.ticket_action, name="action"),
    path("settings/", views.settings_page, name="settings"),
    path("settings/<str:kind>/new/", views.settings_page, name="settings_new"),
    path("settings/<str:kind>/<int:obj_id>/", views.settings_page, name="settings_edit"),
]
