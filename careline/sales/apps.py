from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "careline.sales"
    label = "sales"
    verbose_name = "Sales"
