from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "careline.customers"
    label = "customers"
    verbose_name = "Customers"

    def ready(self) -> None:
        from careline.core import timeline
        from careline.customers.timeline import customers_provider

        timeline.register(customers_provider, name="customers")
