"""manage.py add_member <project> <username> [--role annotator|reviewer|owner] [--create]: add a teammate."""
from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from annotations import services
from annotations.errors import DomainError
from annotations.management.project_arg import project_from_arg
from annotations.models import Membership


class Command(BaseCommand):
    help = "Add a user to a project with a role (or change their role). --create makes the user and prints a password."

    def add_arguments(self, parser):
        parser.add_argument("project", help="project id or exact name")
        parser.add_argument("username")
        parser.add_argument("--role", choices=Membership.Role.values, default=Membership.Role.ANNOTATOR)
        parser.add_argument("--create", action="store_true", help="create the user when missing")

    def handle(self, *args, project, username, role, create, **options):
        target = project_from_arg(project)
        users = get_user_model().objects
        user = users.filter(username=username).first()
        if user is None:
            if not create:
                raise CommandError(f"no user named {username!r} (add --create to make one)")
            password = secrets.token_urlsafe(12)
            user = users.create_user(username=username, password=password)
            self.stdout.write(f"created user {username!r} with password {password}")
        try:
            services.membership_set(project=target, user=user, role=role)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        self.stdout.write(f"{username} is now {role} of {target.name!r}")
