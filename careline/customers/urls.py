from django.urls import path

from careline.customers import views

app_name = "customers"

urlpatterns = [
    path("", views.customer_list, name="list"),
    path("new/", views.customer_create, name="create"),
    path("wards/", views.ward_options, name="wards"),
    path("duplicates/", views.customer_duplicates, name="duplicates"),
    path("duplicates/merge-exact/", views.customer_merge_exact, name="merge_exact"),
    path("<int:customer_id>/", views.customer_detail, name="detail"),
    path("<int:customer_id>/edit/", views.customer_edit, name="edit"),
    path("<int:customer_id>/history/", views.customer_history, name="history"),
    path("<int:customer_id>/archive/", views.customer_archive, name="archive"),
    path("<int:customer_id>/restore/", views.customer_restore, name="restore"),
    path("<int:customer_id>/notes/", views.customer_note_add, name="note_add"),
    path("<int:customer_id>/consents/", views.customer_consent_add, name="consent_add"),
    path("<int:customer_id>/merge/<int:other_id>/", views.customer_merge, name="merge"),
]
