from django.apps import AppConfig


class ImportsConfig(AppConfig):
    name = "careline.imports"
    label = "imports"
    verbose_name = "Imports and exports"
