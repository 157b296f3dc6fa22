"""Recurring complaints pages, included at /helpdesk/recurring/ (namespace "recurring")."""

from django.urls import path

from careline.helpdesk import cluster_views

app_name = "recurring"

urlpatterns = [
    path("", cluster_views.report, name="report"),
    path("results/", cluster_views.results, name="results"),
    path("category/", cluster_views.category_from_cluster, name="category"),
]
