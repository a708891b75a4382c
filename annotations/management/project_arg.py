"""Resolve a project, or one of its model versions, given on the command line by id or by exact name."""
from __future__ import annotations

from django.core.management.base import CommandError

from annotations.models import ModelVersion, Project


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


def version_from_arg(project: Project, value: str) -> ModelVersion:
    versions = project.model_versions.all()
    version = versions.filter(pk=int(value)).first() if value.isdigit() else versions.filter(name=value).first()
    if version is None:
        raise CommandError(f"no model version {value!r} in project {project.name!r}")
    return version
