from django.urls import path

from careline.kpis import views

app_name = "kpis"

urlpatterns = [
    path("my-bars/", views.my_bars, name="my_bars"),
    path("board/", views.board, name="board"),
    path("quotas/", views.quota_list, name="quotas"),
    path("quotas/<int:quota_id>/edit/", views.quota_edit, name="quota_edit"),
    path("quotas/<int:quota_id>/delete/", views.quota_delete, name="quota_delete"),
    path("calls/", views.calls, name="calls"),
]
