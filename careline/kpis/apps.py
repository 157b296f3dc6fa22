from django.apps import AppConfig


class KpisConfig(AppConfig):
    name = "careline.kpis"
    label = "kpis"
    verbose_name = "KPIs"
