"""POST /api/projects/{id}/train/ with a body that is not a JSON object (found by the schema test)."""
from __future__ import annotations

import pytest

from annotations.models import Job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("body", [[], [1, 2], "epochs"])
def test_a_train_request_that_is_not_an_object_gets_a_clear_400_and_starts_nothing(owner_api, project, body):
    response = owner_api.post(f"/api/projects/{project.pk}/train/", body, format="json")
    assert response.status_code == 400
    assert "must be a JSON object" in response.json()["message"]
    assert not Job.objects.exists()
