"""annotations/prepared.py: the hot-path queries compiled once per connection give what the ORM
gives (instances with their related objects and annotations, rows as the driver hands them over),
compile nothing after the first call, refuse a marker the query rewrites, and the token
authentication built on it answers as DRF's."""
from __future__ import annotations

import pytest
from django.db.models import F
from django.db.models.sql.compiler import SQLCompiler
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from annotations import masks, selectors, services
from annotations.models import Annotation, Image, Membership
from annotations.prepared import PreparedQuery

from .api.document_support import rect

pytestmark = pytest.mark.django_db


@pytest.fixture
def compiles(monkeypatch):
    """How many queries the ORM compiles (SQLCompiler.as_sql calls) from now on."""
    count = {"n": 0}
    original = SQLCompiler.as_sql

    def counting(self, *args, **kwargs):
        count["n"] += 1
        return original(self, *args, **kwargs)

    monkeypatch.setattr(SQLCompiler, "as_sql", counting)
    return count


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def test_image_get_gives_the_orms_image_with_its_project_assignee_and_role(owner, teammate, project, image, django_assert_num_queries):
    services.images_assign(project=project, image_ids=[image.pk], username=teammate.username)
    expected = (Image.objects.filter(project__memberships__user=teammate, pk=image.pk).select_related("project", "assignee")
                .annotate(viewer_role=F("project__memberships__role")).get())
    with django_assert_num_queries(1):  # the project and assignee come with it
        got = selectors.image_get(user=teammate, image_id=image.pk)
        assert got.project.name == "Streets" and got.assignee.username == teammate.username
    assert _fields(got) == _fields(expected) and _fields(got.project) == _fields(expected.project)
    assert got.viewer_role == expected.viewer_role == Membership.Role.ANNOTATOR
    assert selectors.image_get(user=owner, image_id=image.pk).viewer_role == Membership.Role.OWNER


def test_image_get_still_refuses_outsiders_and_unknown_ids(outsider, image):
    from annotations.errors import NotFound

    for user, pk in ((outsider, image.pk), (image.project.memberships.first().user, 987654)):
        with pytest.raises(NotFound):
            selectors.image_get(user=user, image_id=pk)


def test_after_the_first_call_nothing_is_compiled(owner, image, car, compiles):
    selectors.image_get(user=owner, image_id=image.pk)
    selectors.document_rows(image=image)
    compiles["n"] = 0
    for _ in range(3):
        selectors.image_get(user=owner, image_id=image.pk)
        selectors.document_rows(image=image)
    assert compiles["n"] == 0


@pytest.mark.parametrize("ground_truth", [False, True])
def test_document_rows_are_the_orms_values_for_either_document(owner, image, car, ground_truth):
    for z, (x0, y0) in enumerate(((1, 1), (20, 5), (40, 30))):
        Annotation.with_ground_truth.create(image=image, label_class=car, ground_truth=ground_truth, z_order=-z, author=owner,
                                            rle_counts=masks.encode(rect(image, x0, y0, x0 + 9, y0 + 7))["counts"], area=63)
    Annotation.with_ground_truth.create(image=image, label_class=car, ground_truth=not ground_truth, z_order=0,
                                        rle_counts=masks.encode(rect(image, 2, 2, 4, 4))["counts"], area=4)
    from annotations.api.serializers import format_rows

    expected = selectors.document_row_values(selectors.annotation_list(image=image, ground_truth=ground_truth))
    got = selectors.document_rows(image=image, ground_truth=ground_truth)
    stamps = [selectors.DOCUMENT_ROW_FIELDS.index(f) for f in ("created_at", "updated_at")]
    plain = lambda rows: [tuple(v for i, v in enumerate(r) if i not in stamps) for r in rows]  # noqa: E731
    assert len(got) == 3 and plain(got) == plain(expected)
    # The timestamps may come as text (SQLite): the answer writes them the same either way.
    assert format_rows(got, height=image.height, width=image.width) == format_rows(expected, height=image.height, width=image.width)


def test_a_marker_the_query_rewrites_is_refused_when_prepared(image):
    query = PreparedQuery(lambda name: Image.objects.filter(file_name__icontains=name), "zz-marker")
    with pytest.raises(ValueError, match="zz-marker"):
        query.rows("img")


def test_token_authentication_answers_as_drfs(owner, project):
    token = Token.objects.create(user=owner)
    client = APIClient()
    for _ in range(2):  # prepared on the first, run on the second
        assert client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token.key}").json()[0]["name"] == "Streets"
    bad = client.get("/api/projects/", HTTP_AUTHORIZATION="Token " + "0" * 40)
    assert bad.status_code == 401 and "Invalid token" in bad.json()["message"] and bad.headers["WWW-Authenticate"].startswith("Token")
    owner.is_active = False
    owner.save(update_fields=["is_active"])
    gone = client.get("/api/projects/", HTTP_AUTHORIZATION=f"Token {token.key}")
    assert gone.status_code == 401 and "inactive" in gone.json()["message"]
