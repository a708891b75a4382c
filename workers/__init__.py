"""Celery tasks and the ML runtime (the only package that imports torch, and only in workers)."""
