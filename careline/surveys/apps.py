from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "careline.surveys"
    label = "surveys"
    verbose_name = "Surveys"

    def ready(self) -> None:
        from careline.core import timeline
        from careline.helpdesk.signals import ticket_resolved
        from careline.surveys import receivers
        from careline.surveys.timeline import surveys_provider

        ticket_resolved.connect(receivers.ticket_resolved, dispatch_uid="surveys.ticket_resolved")
        timeline.register(surveys_provider, name="surveys")
