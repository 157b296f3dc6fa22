from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "careline.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from careline.accounts import receivers  # noqa: F401  (login audit hooks)
