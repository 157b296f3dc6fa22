from django.urls import path

from careline.imports import views

app_name = "imports"

urlpatterns = [
    path("", views.job_list, name="list"),
    path("new/", views.import_upload, name="upload"),
    path("<int:job_id>/mapping/", views.import_mapping, name="mapping"),
    path("<int:job_id>/", views.job_detail, name="job"),
    path("<int:job_id>/download/", views.job_download, name="download"),
    path("<int:job_id>/retry/", views.job_retry, name="retry"),
    path("export/", views.export_customers, name="export"),
]
