"""Who may call what: every URL pattern of labeler/urls.py and the API, every method, called as an
owner, an annotator, a reviewer, an outsider and an anonymous visitor.

The routes are found by walking the URL resolver, so a new endpoint without a row in MATRIX fails
`test_every_route_and_method_has_a_matrix_entry`. Outcomes, in the order of ROLES:
  ok     the request passed the permission checks (any answer but 401/403/404, and no 5xx)
  403    refused for the role          404   hidden (outsiders never learn an object exists)
  anon   401/403 from the API          login a redirect to the login page
The annotator's image is assigned to them; images assigned to others are in test_team_workflow.py.
"""
from __future__ import annotations

import io

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver

from annotations import ingest, services
from annotations.models import Image, Job, ModelVersion
from tests.conftest import png_bytes
from tests.task_runner import InProcessRunner

pytestmark = pytest.mark.django_db

ROLES = ("owner", "annotator", "reviewer", "outsider", "anonymous")
MEMBERS_PAGE = "ok ok ok 404 login"
MEMBERS_READ = "ok ok ok 404 anon"
OWNERS_WRITE = "ok 403 403 404 anon"
UPLOADERS_WRITE = "ok ok 403 404 anon"
REVIEWERS_WRITE = "ok 403 ok 404 anon"
EVERYONE = "ok ok ok ok ok"
SIGNED_IN = "ok ok ok ok anon"

# route name -> {method: outcomes}. "admin" stands for Django's admin site (its own routes and rules).
MATRIX: dict[str, dict[str, str]] = {
    "projects": {"GET": "ok ok ok ok login"},
    "project": {"GET": MEMBERS_PAGE},
    "models": {"GET": MEMBERS_PAGE},
    "editor": {"GET": MEMBERS_PAGE},
    "media": {"GET": MEMBERS_PAGE},
    "classes": {"GET": MEMBERS_PAGE},
    "members": {"GET": MEMBERS_PAGE},
    "project-settings": {"GET": MEMBERS_PAGE},
    "quality": {"GET": "ok 403 ok 404 login"},  # owners and reviewers: the report scores the annotators
    "jobs": {"GET": MEMBERS_PAGE},
    "api-schema": {"GET": EVERYONE},  # the schema is public (it names no data)
    "api-token": {"POST": EVERYONE},
    "api-projects": {"GET": SIGNED_IN, "POST": SIGNED_IN},
    "api-project": {"GET": MEMBERS_READ, "PATCH": OWNERS_WRITE},
    "api-members": {"GET": MEMBERS_READ, "POST": OWNERS_WRITE},
    "api-member": {"DELETE": OWNERS_WRITE},
    "api-invitation-accept": {"POST": SIGNED_IN},
    "api-label-classes": {"GET": MEMBERS_READ, "POST": OWNERS_WRITE},
    "api-label-class": {"PATCH": OWNERS_WRITE, "DELETE": OWNERS_WRITE},
    "api-images": {"GET": MEMBERS_READ, "POST": UPLOADERS_WRITE},
    "api-images-bulk": {"POST": OWNERS_WRITE},
    "api-jobs": {"GET": MEMBERS_READ},
    "api-models": {"GET": MEMBERS_READ, "POST": OWNERS_WRITE},
    "api-prelabel": {"POST": UPLOADERS_WRITE},
    "api-train": {"POST": OWNERS_WRITE},
    "api-models-compare": {"GET": MEMBERS_READ},
    "api-model-evaluate": {"POST": UPLOADERS_WRITE},
    "api-next-image": {"GET": MEMBERS_READ},
    "api-exports": {"POST": MEMBERS_READ},
    "api-imports": {"POST": OWNERS_WRITE},
    "api-assist": {"POST": MEMBERS_READ},
    "api-superpixels": {"GET": MEMBERS_READ},
    "api-image": {"GET": MEMBERS_READ, "PATCH": MEMBERS_READ},
    "api-image-review": {"POST": REVIEWERS_WRITE},
    "api-annotations": {"GET": MEMBERS_READ, "PUT": MEMBERS_READ, "PATCH": MEMBERS_READ},
    "api-ground-truth": {"POST": OWNERS_WRITE},
    "api-quality": {"GET": REVIEWERS_WRITE},
    "api-revisions": {"GET": MEMBERS_READ},
    "api-revision": {"GET": MEMBERS_READ},
    "api-revision-restore": {"POST": MEMBERS_READ},
    "api-job": {"GET": MEMBERS_READ},
    "api-job-cancel": {"POST": UPLOADERS_WRITE},
    "api-job-download": {"GET": MEMBERS_READ},
    "login": {"GET": EVERYONE, "POST": EVERYONE},
    "logout": {"POST": EVERYONE},
    "admin": {"GET": "login login login login login"},  # nobody here is staff
}

# What each request sends (valid where that is cheap, so "ok" means the request did its work).
BODIES: dict[tuple[str, str], dict] = {
    ("api-token", "POST"): {"username": "olivia", "password": "wrong"},
    ("api-projects", "POST"): {"name": "Another"},
    ("api-project", "PATCH"): {"description": "edited"},
    ("api-members", "POST"): {"username": "newcomer", "role": "annotator"},
    ("api-invitation-accept", "POST"): {"token": "not-a-token"},
    ("api-label-classes", "POST"): {"name": "bike", "hotkey": "b"},
    ("api-label-class", "PATCH"): {"color": "#00ff00"},
    ("api-images-bulk", "POST"): {"action": "assign", "images": ["{image_id}"], "assignee": "rita"},
    ("api-prelabel", "POST"): {"model_version": "{version_id}", "images": "all"},
    ("api-train", "POST"): {"arch": "unet", "epochs": 1},
    ("api-exports", "POST"): {"format": "coco"},
    ("api-assist", "POST"): {},  # refused as invalid after the role check: a valid box would run the project's network
    ("api-image", "PATCH"): {"status": "in_progress"},
    ("api-image-review", "POST"): {"decision": "accept"},
    ("api-annotations", "PUT"): {"version": 0, "annotations": []},
    ("api-annotations", "PATCH"): {"version": 0, "upsert": [], "delete": []},
    ("api-ground-truth", "POST"): {"percent": 20, "seed": 1},
    ("api-revision-restore", "POST"): {"version": 1},
}


class QueueJobsAnswerCalls(InProcessRunner):
    """Jobs stay queued (nothing trains or exports here); calls the web waits on (superpixels) run here."""

    def send(self, task: str, job_id: int) -> str | None:
        return None


def _routes(resolver=None, prefix: str = "") -> dict[str, object]:
    """route name -> view callback, for every pattern of the URL conf (the admin as one entry)."""
    found: dict[str, object] = {}
    for pattern in (resolver or get_resolver()).url_patterns:
        if isinstance(pattern, URLResolver):
            if pattern.app_name == "admin":
                found["admin"] = None
            else:
                found.update(_routes(pattern, prefix + str(pattern.pattern)))
        elif isinstance(pattern, URLPattern):
            assert pattern.name, f"route {prefix}{pattern.pattern} has no name: the matrix names routes"
            found[pattern.name] = pattern.callback
    return found


def _api_methods(callback) -> set[str] | None:
    """The methods a DRF view implements (None for plain Django views: the matrix declares theirs)."""
    cls = getattr(callback, "cls", None)
    if cls is None:
        return None
    return {m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(cls, m)}


def test_every_route_and_method_has_a_matrix_entry():
    routes = _routes()
    assert set(routes) == set(MATRIX), f"missing from MATRIX: {set(routes) - set(MATRIX)}; stale: {set(MATRIX) - set(routes)}"
    for name, callback in routes.items():
        methods = _api_methods(callback)
        if methods is not None:
            assert methods == set(MATRIX[name]), f"{name}: the view answers {sorted(methods)}, MATRIX lists {sorted(MATRIX[name])}"


CASES = [(name, method, role, outcome) for name, methods in MATRIX.items() for method, outcomes in methods.items()
         for role, outcome in zip(ROLES, outcomes.split(), strict=True)]


@pytest.fixture
def world(settings, django_user_model):
    """A project with one of everything, and a client for each role."""
    settings.LABELER_TASK_RUNNER = "tests.test_permission_matrix.QueueJobsAnswerCalls"
    users = {name: django_user_model.objects.create_user(username=name, password=f"{name}-pass-123")
             for name in ("olivia", "tom", "rita", "oscar")}
    project = services.project_create(name="Matrix", owner=users["olivia"])
    services.membership_set(project=project, user=users["tom"], role="annotator")
    services.membership_set(project=project, user=users["rita"], role="reviewer")
    label_class = services.label_class_create(project=project, name="car", hotkey="1")
    image = ingest.images_import(project=project, user=None, files=[("a.png", io.BytesIO(png_bytes(40, 30)))], make_thumbnails=False).created[0]
    services.annotation_document_save(image=image, user=users["olivia"], version=0, annotations=[])  # revision 1
    Image.objects.filter(pk=image.pk).update(assignee=users["tom"], status="done")
    version = ModelVersion.objects.create(project=project, name="v1", architecture="unet", class_mapping=[None, label_class.pk])
    export = Job.objects.create(project=project, kind=Job.Kind.EXPORT, status=Job.Status.SUCCEEDED, created_by=users["olivia"])
    export.result_file.save("exports/matrix.zip", ContentFile(b"PK\x05\x06" + b"\0" * 18))
    queued = Job.objects.create(project=project, kind=Job.Kind.EXPORT, total=3, created_by=users["olivia"])
    ids = {"project_id": project.pk, "image_id": image.pk, "job_id": export.pk, "version_id": version.pk,
           "class_id": label_class.pk, "username": "tom", "path": image.file.name,
           "revision_id": image.revisions.get().pk}
    per_route = {"api-job-cancel": {"job_id": queued.pk}}
    clients = {}
    for role, name in zip(ROLES, ("olivia", "tom", "rita", "oscar", None)):
        client = Client()
        if name:
            client.force_login(users[name])
        clients[role] = client
    return {"ids": ids, "per_route": per_route, "clients": clients}


def _fill(value, ids):
    if isinstance(value, str) and value.startswith("{") and value.endswith("}"):
        return ids[value[1:-1]]
    if isinstance(value, list):
        return [_fill(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, ids) for k, v in value.items()}
    return value


def _url(name: str, ids: dict) -> str:
    from django.urls import reverse

    if name == "admin":
        return "/admin/"
    pattern = next(p for p in _all_patterns() if p[0] == name)
    return reverse(name, kwargs={k: ids[k] for k in pattern[1]})


def _all_patterns():
    def walk(resolver):
        for p in resolver.url_patterns:
            if isinstance(p, URLResolver):
                if p.app_name != "admin":
                    yield from walk(p)
            else:
                yield p.name, list(p.pattern.converters)
    return list(walk(get_resolver()))


@pytest.mark.parametrize(("name", "method", "role", "outcome"), CASES, ids=[f"{n}-{m}-{r}-{o}" for n, m, r, o in CASES])
def test_the_role_gets_the_outcome_the_matrix_says(world, name, method, role, outcome):
    ids = {**world["ids"], **world["per_route"].get(name, {})}
    body = _fill(BODIES.get((name, method), {}), ids)
    client: Client = world["clients"][role]
    url = _url(name, ids)
    if method == "GET":
        response = client.get(url)
    else:
        response = getattr(client, method.lower())(url, data=body, content_type="application/json")
    code = response.status_code
    where = f"{method} {url} as {role}: HTTP {code} {getattr(response, 'content', b'')[:300]!r}"
    assert code < 500, where
    if outcome == "ok":
        assert code not in (401, 403, 404), where
    elif outcome == "anon":
        assert code in (401, 403), where
    elif outcome == "login":
        assert code == 302 and "login" in response["Location"], where
    else:
        assert code == int(outcome), where
