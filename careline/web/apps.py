from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "careline.web"
    label = "web"
    verbose_name = "Web UI"
