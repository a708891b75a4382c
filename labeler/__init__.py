"""The labeler Django project: settings, URLs, the Celery app and the one-command stack."""
from .celery import app as celery_app

__all__ = ["celery_app"]
