from django.apps import AppConfig


class SalesConfig(AppConfig):
    name = "careline.sales"
    label = "sales"
    verbose_name = "Sales"

    def ready(self) -> None:
        from careline.activities.signals import activity_logged
        from careline.core import timeline
        from careline.sales import receivers
        from careline.sales.timeline import sales_provider

        activity_logged.connect(receivers.activity_logged, dispatch_uid="sales.activity_logged")
        timeline.register(sales_provider, name="sales")
