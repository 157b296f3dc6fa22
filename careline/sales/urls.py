from django.urls import path

from careline.sales import views

app_name = "sales"

urlpatterns = [
    path("", views.lead_list, name="list"),
    path("<int:inquiry_id>/", views.lead_detail, name="detail"),
]
