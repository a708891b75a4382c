"""The models page shows how each version learned (charts of loss and metric per epoch, IoU per
class, the confusion matrix, the recipe) and correction effort as the headline, against images
labelled from scratch; the compare API answers the same effort figures."""
from __future__ import annotations

import re

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import ModelVersion
from annotations.services import Proposal

pytestmark = pytest.mark.django_db

HISTORY = [
    {"epoch": 1, "loss": 1.2, "metric": 0.31, "elapsed_s": 10.0, "partial": False},
    {"epoch": 2, "loss": 0.7, "metric": 0.55, "elapsed_s": 20.0, "partial": False},
    {"epoch": 3, "loss": 0.5, "metric": None, "elapsed_s": 30.0, "partial": False},
    {"epoch": 4, "loss": 0.45, "metric": 0.62, "elapsed_s": 35.0, "partial": True},
]


def _box(y0, x0, h, w, shape=(48, 64)):
    bitmap = np.zeros(shape, np.uint8)
    bitmap[y0:y0 + h, x0:x0 + w] = 1
    return bitmap


def _page(client, user, project) -> str:
    client.force_login(user)
    response = client.get(f"/projects/{project.pk}/models/")
    assert response.status_code == 200
    return response.content.decode()


def _card(html: str, version: ModelVersion) -> str:
    start = html.index(f'<section class="version-card" data-version="{version.pk}"')
    return html[start:html.index("</section>", start)]


def test_a_trained_version_shows_its_curves_ious_confusion_matrix_and_recipe(client, owner, project):
    version = ModelVersion.objects.create(
        project=project, name="fcn-v2", architecture="fcn", source="trained", class_mapping=[None, 1, 2],
        training={"history": HISTORY, "best_epoch": 4, "best_metric": 0.62, "peak_rss_mb": 812.5, "steps": 420,
                  "recipe": {"crop_size": 256, "batch_size": 4, "steps_planned": 400, "steps_done": 420, "lr": 0.001,
                             "losses": ["cross_entropy", "dice"], "augmentation": {"elastic": True, "flips": True}}},
        metrics={"task": "semantic", "metric_name": "mIoU", "metric": 0.62, "miou": 0.62,
                 "per_class_iou": {"background": 0.95, "car": 0.41, "road": None},
                 "confusion": {"classes": ["background", "car", "road"], "counts": [[900, 50, 0], [20, 30, 0], [0, 0, 0]]}},
    )
    card = _card(_page(client, owner, project), version)
    assert re.search(r'data-chart="loss" data-points="4"', card)
    assert re.search(r'data-chart="metric" data-points="3"', card)  # epoch 3 was not validated
    assert card.count('class="point partial"') == 2  # the budget cut epoch 4 short, on both curves
    assert 'data-chart="iou" data-bars="3"' in card and "n/a" in card
    assert len(re.findall(r'<rect class="cell', card)) == 9 and 'data-count="900"' in card
    for shown in ("crop size", "256", "steps planned", "augmentation", "&quot;elastic&quot;: true", "best epoch (kept)",
                  "peak memory (MB)", "812.5"):
        assert shown in card, shown


def test_a_version_with_nothing_recorded_still_renders(client, owner, project):
    bare = ModelVersion.objects.create(project=project, name="uploaded", architecture="maskrcnn", class_mapping=[None],
                                       training={"history": [{"epoch": "x"}], "recipe": "not a dict"},
                                       metrics={"confusion": {"classes": ["a"], "counts": "junk"}})
    card = _card(_page(client, owner, project), bare)
    assert "no data" in card and 'class="cell' not in card


@pytest.fixture
def corrected(owner, owner_api, project, car, make_image):
    """Two images labelled from scratch (100 and 300 px), one pre-labeled by v1 and corrected."""
    for box in (_box(0, 0, 10, 10), _box(0, 0, 15, 20)):
        image = make_image()
        services.annotation_document_save(image=image, user=owner, version=image.annotation_version,
                                          annotations=[{"label_class": car.pk, "mask": masks.encode(box)}])
        image.refresh_from_db()
        services.image_status_set(image=image, status="done")
    image = make_image()
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version,  # drawn before: not counted
                                      annotations=[{"label_class": car.pk, "mask": masks.encode(_box(40, 0, 5, 5))}])
    version = ModelVersion.objects.create(project=project, name="v1", architecture="maskrcnn", class_mapping=[None, car.pk])
    services.proposals_replace(image=image, model_version=version, proposals=[
        Proposal(car.pk, masks.encode(_box(0, 0, 10, 10)), 0.9), Proposal(car.pk, masks.encode(_box(20, 20, 10, 10)), 0.8),
    ])
    doc = owner_api.get(f"/api/images/{image.pk}/annotations/").json()
    earlier, keep, edit = doc["annotations"]
    edited = _box(20, 20, 10, 10)
    edited[20:30, 30:33] = 1  # +30 px
    edited[20:25, 20:22] = 0  # -10 px
    response = owner_api.put(f"/api/images/{image.pk}/annotations/", {"version": doc["version"], "annotations": [
        earlier, {**keep, "is_proposal": False}, {**edit, "mask": masks.encode(edited)},
        {"label_class": car.pk, "mask": masks.encode(_box(0, 50, 8, 8))},  # 64 px drawn by hand
    ]}, format="json")
    assert response.status_code == 200, response.json()
    ModelVersion.objects.create(project=project, name="v2", architecture="maskrcnn", class_mapping=[None, car.pk])
    return version


def test_correction_effort_is_set_against_images_labelled_from_scratch(owner_api, project, corrected):
    answer = {v["name"]: v["correction_effort"] for v in owner_api.get(f"/api/projects/{project.pk}/models/compare/").json()}
    v1 = answer["v1"]
    assert (v1["accepted"], v1["proposals_decided"], v1["acceptance_rate"]) == (1, 2, 0.5)
    assert (v1["hand_drawn_pixels"], v1["pixels_changed_per_image"]) == (64, 104.0)  # 30 + 10 + 64 on one image
    assert (v1["scratch_images"], v1["scratch_pixels_per_image"]) == (2, 200.0)
    assert v1["effort_vs_scratch"] == 0.52
    v2 = answer["v2"]  # never used: nothing to compare, but the baseline is there
    assert v2["effort_vs_scratch"] is None and v2["scratch_pixels_per_image"] == 200.0


def test_the_models_page_leads_with_the_correction_effort(client, owner, project, corrected):
    html = _page(client, owner, project)
    row = re.search(rf'<tr data-version="{corrected.pk}">(.*?)</tr>', html, re.S).group(1)
    assert "50%" in row and "(1 of 2)" in row and "104" in row and "52%" in row
    assert "From scratch: 200 annotated pixels per image, over 2 approved images" in html
    assert html.index("Correction effort") < html.index("Side by side") < html.index("How each version learned")
