"""Django app config of mlcore (Django is used only for the management commands)."""

from django.apps import AppConfig


class MlcoreConfig(AppConfig):
    name = "mlcore"
    verbose_name = "Model core"
