from django.apps import AppConfig


class ActivitiesConfig(AppConfig):
    name = "careline.activities"
    label = "activities"
    verbose_name = "Activities"

    def ready(self) -> None:
        from careline.activities.timeline import activities_provider
        from careline.core import timeline

        timeline.register(activities_provider, name="activities")
