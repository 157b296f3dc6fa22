from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "careline.activities"
    label = "activities"
    verbose_name = "Activities"
