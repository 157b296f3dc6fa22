from django.apps import AppConfig


class CliConfig(AppConfig):
    name = "careline.cli"
    label = "cli"
    verbose_name = "Command line"
