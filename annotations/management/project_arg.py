"""Resolve a project given on the command line by id or by exact name."""
from __future__ import annotations

from django.core.management.base import CommandError

from annotations.models import Project


def project_from_arg(value: str) -> Project:
    if value.isdigit():
        project = Project.objects.filter(pk=int(value)).first()
    else:
        matches = list(Project.objects.filter(name=value)[:2])
        if len(matches) > 1:
            raise CommandError(f"more than one project is named {value!r}; give its id")
        project = matches[0] if matches else None
    if project is None:
        raise CommandError(f"no project {value!r}")
    return project
