"""The OpenAPI schema describes the API as it answers: drf-spectacular generates it without a
warning, and schemathesis sends generated requests (valid and invalid) to every operation of the
live schema, in this process through the WSGI app, and checks each answer against it.

Bounded: a fixed seed, a few examples per operation, no shrinking; the whole run takes seconds.
"""
from __future__ import annotations

import time

import pytest
import schemathesis
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.drainage import GENERATOR_STATS
from hypothesis import HealthCheck, Phase, given, settings, strategies as st
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from ..api_seed import SeededProject, seed_project

pytestmark = pytest.mark.django_db

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
EXAMPLES_PER_OPERATION = 25
# Operations left out, each with its reason. None today: the Jobs that train, pre-label and
# evaluate are only queued here (the test's transaction never commits, so no task runs), and
# assist answers 409 because the seeded project has no model version.
EXCLUDED: dict[tuple[str, str], str] = {}


def test_the_schema_generates_without_warnings(tmp_path):
    # `spectacular --validate --fail-on-warn` also checks the result against the OpenAPI 3 meta-schema.
    GENERATOR_STATS.reset()  # warnings are counted per process: count only this generation's
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))


@pytest.fixture
def wsgi_app():
    """The project's WSGI app, sharing the test's database transaction: like Django's test
    client, it must not close the connection at the end of each request."""
    from django.core.wsgi import get_wsgi_application

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield get_wsgi_application()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def seeded(project, owner, teammate, outsider, car, road, make_image, django_capture_on_commit_callbacks) -> SeededProject:
    return seed_project(project=project, owner=owner, owner_password="owner-pass-123", teammate=teammate, outsider=outsider,
                        classes=[car, road], make_image=make_image, run_jobs=django_capture_on_commit_callbacks)


def test_every_operation_answers_as_the_schema_says(wsgi_app, seeded):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    headers = {"Authorization": f"Token {Token.objects.create(user=seeded.owner).key}"}
    failures: list[str] = []
    tested: list[str] = []
    started = time.perf_counter()
    operations = [result.ok() for result in schema.get_all_operations()]
    operations = [op for op in operations if (op.method.upper(), op.path) not in EXCLUDED]

    def real_ids(operation) -> dict:
        names = {parameter.name for parameter in operation.path_parameters}
        return {name: value for name, value in {**seeded.path_parameters, **seeded.overrides.get(operation.path, {})}.items()
                if name in names}

    # First the one valid request of each operation that generated data seldom gets right, so
    # every success answer is checked too (before the generated ones change the seeded rows).
    for operation in operations:
        key = (operation.method.upper(), operation.path)
        if key in seeded.valid_requests:
            case = operation.Case(path_parameters=real_ids(operation), **seeded.valid_requests[key])
            try:
                response = case.call_and_validate(headers=headers, checks=CHECKS)
                assert response.status_code < 300, f"the valid request was refused: {response.status_code} {response.text}"
            except Exception as exc:
                failures.append(f"{key[0]} {key[1]} (valid request):\n{exc}")

    for operation in operations:
        key = (operation.method.upper(), operation.path)
        tested.append(f"{key[0]} {key[1]}")
        real = real_ids(operation)
        # Real ids reach the objects (and their validation); generated ones mostly 404.
        cases = st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE, path_parameters=real),
            operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=real),
            operation.as_strategy(GenerationMode.POSITIVE),
        )

        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck))
        @given(case=cases)
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # one report for every operation, not only the first that fails
            failures.append(f"{key[0]} {key[1]}:\n{exc}")
    elapsed = time.perf_counter() - started
    assert len(tested) >= 28, tested
    assert not failures, f"{len(failures)} of {len(tested)} operations break the schema ({elapsed:.1f} s):\n\n" + "\n\n".join(failures)


def test_without_credentials_every_operation_answers_in_the_error_shape(wsgi_app, seeded):
    schema = schemathesis.openapi.from_wsgi("/api/schema/", wsgi_app)
    answers = {}
    for result in schema.get_all_operations():
        operation = result.ok()
        names = {parameter.name for parameter in operation.path_parameters}
        case = operation.Case(path_parameters={k: v for k, v in seeded.path_parameters.items() if k in names})
        response = case.call_and_validate(checks=CHECKS)
        answers[f"{operation.method.upper()} {operation.path}"] = (response.status_code, response.json()["message"])
    public = {"POST /api/auth/token/"}
    assert {op: status for op, (status, _) in answers.items() if op not in public} == {op: 401 for op in answers if op not in public}
    assert answers["POST /api/auth/token/"][0] == 400
