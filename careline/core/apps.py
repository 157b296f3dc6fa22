from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "careline.core"
    label = "core"
    verbose_name = "Careline core"
