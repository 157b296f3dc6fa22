from django.urls import path

from careline.sales import views

app_name = "sales"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("assign/", views.lead_bulk_assign, name="bulk_assign"),
    path("allocate/", views.lead_allocate, name="allocate"),
    path("<int:inquiry_id>/", views.lead_detail, name="detail"),
    path("<int:inquiry_id>/assign/", views.lead_assign, name="assign"),
    path("<int:inquiry_id>/reclaim/", views.lead_reclaim, name="reclaim"),
    path("<int:inquiry_id>/close/", views.lead_close, name="close"),
    path("<int:inquiry_id>/spam/", views.lead_spam, name="spam"),
    path("rules/", views.rule_list, name="rules"),
    path("rules/new/", views.rule_create, name="rule_create"),
    path("rules/<int:rule_id>/", views.rule_edit, name="rule_edit"),
    path("rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("absences/", views.absences, name="absences"),
    path("absences/<int:absence_id>/delete/", views.absence_delete, name="absence_delete"),
]
