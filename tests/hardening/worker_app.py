"""The Celery app as workers run it, plus the test tasks of killer_tasks.py (a worker started with
`-A tests.hardening.worker_app` loads both once Django is set up)."""
from labeler.celery import app

app.conf.imports = (*app.conf.imports, "tests.hardening.killer_tasks")
