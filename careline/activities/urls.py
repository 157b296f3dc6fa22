from django.urls import path

from careline.activities import views

app_name = "activities"

urlpatterns = [
    path("", views.activity_list, name="list"),
    path("my-day/", views.my_day, name="my_day"),
    path("customers/<int:customer_id>/timeline/", views.timeline, name="timeline"),
    path("customers/<int:customer_id>/log/", views.log, name="log"),
    path("customers/<int:customer_id>/call/", views.quick_call, name="quick_call"),
    path("customers/<int:customer_id>/email/", views.email, name="email"),
    path("customers/<int:customer_id>/email/preview/", views.email_preview, name="email_preview"),
    path("<int:activity_id>/complete/", views.complete, name="complete"),
    path("<int:activity_id>/delete/", views.delete, name="delete"),
    path("email-templates/", views.email_templates, name="email_templates"),
    path("email-templates/<int:template_id>/", views.email_template_edit, name="email_template_edit"),
    path(
        "email-templates/<int:template_id>/archive/",
        views.email_template_archive,
        name="email_template_archive",
    ),
]
