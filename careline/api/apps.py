from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "careline.api"
    label = "api"
    verbose_name = "REST API"
