"""The Celery app: two queues, `gpu` (inference, training) and `default` (export, import, thumbnails).

Tasks are declared in `workers.tasks`; the web process enqueues them by name through
`annotations.jobs`, so it never imports torch.
"""
import os

from celery import Celery
from kombu import Queue

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "labeler.settings")

app = Celery("labeler")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.task_queues = (Queue("default"), Queue("gpu"))
app.conf.task_routes = {
    "workers.gpu.*": {"queue": "gpu"},
    "workers.default.*": {"queue": "default"},
}
app.conf.imports = ("workers.tasks",)
