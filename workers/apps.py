"""Django app config for the workers package (management commands that need torch live here)."""
from django.apps import AppConfig


class WorkersConfig(AppConfig):
    name = "workers"
