from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "careline.surveys"
    label = "surveys"
    verbose_name = "Surveys"
