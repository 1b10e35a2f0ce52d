from django.apps import AppConfig


class ConsoleConfig(AppConfig):
    name = "oms.console"
    label = "console"
    verbose_name = "Console"
