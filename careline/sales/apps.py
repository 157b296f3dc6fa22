from django.apps import AppConfig
from django.db.models.signals import post_migrate


class SalesConfig(AppConfig):
    name = "careline.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from careline.activities.signals import activity_logged
        from careline.core import timeline
        from careline.sales import receivers
        from careline.sales.open_leads import open_lead_triggers_ensure
        from careline.sales.timeline import sales_provider

        activity_logged.connect(receivers.activity_logged, dispatch_uid="sales.activity_logged")
        post_migrate.connect(open_lead_triggers_ensure, dispatch_uid="sales.open_lead_triggers")
        timeline.register(sales_provider, name="sales")
