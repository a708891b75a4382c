"""GET /api/projects/{id}/next-image/: the most uncertain unlabeled image first, else the next by id."""
from __future__ import annotations

import pytest

from annotations.models import Image

pytestmark = pytest.mark.django_db


@pytest.fixture
def images(make_image):
    return [make_image() for _ in range(5)]


def _next(api, project, after=None):
    suffix = f"?after={after}" if after is not None else ""
    return api.get(f"/api/projects/{project.pk}/next-image/{suffix}").json()


def _set(image, **fields):
    Image.objects.filter(pk=image.pk).update(**fields)


def test_the_most_uncertain_unlabeled_image_comes_first(teammate_api, project, images):
    a, b, c, d, e = images
    _set(a, uncertainty=0.2)
    _set(b, uncertainty=0.9, status="done")  # labeled: never proposed
    _set(c, uncertainty=0.7, status="in_progress")
    _set(d, uncertainty=0.5)
    answer = _next(teammate_api, project)
    assert (answer["image"]["id"], answer["reason"]) == (c.pk, "uncertainty")
    assert _next(teammate_api, project, after=c.pk)["image"]["id"] == d.pk  # the one just saved is skipped


def test_without_scores_it_goes_on_by_id_and_wraps_round(teammate_api, project, images):
    a, b, c, d, e = images
    _set(c, status="reviewed")
    assert _next(teammate_api, project, after=b.pk)["image"]["id"] == d.pk
    assert _next(teammate_api, project, after=e.pk)["image"]["id"] == a.pk
    assert _next(teammate_api, project)["reason"] == "order"


def test_when_everything_is_labeled_it_says_so(teammate_api, project, images):
    Image.objects.filter(project=project).update(status="done")
    assert _next(teammate_api, project) == {"image": None, "reason": "no unlabeled image left"}


def test_a_bad_after_is_refused(teammate_api, project, images):
    response = teammate_api.get(f"/api/projects/{project.pk}/next-image/?after=abc")
    assert response.status_code == 400 and "after" in response.json()["message"]
