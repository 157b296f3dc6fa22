from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "careline.helpdesk"
    label = "helpdesk"
    verbose_name = "Helpdesk"
