from django.apps import AppConfig


class CustomersConfig(AppConfig):
    name = "careline.customers"
    label = "customers"
    verbose_name = "Customers"
