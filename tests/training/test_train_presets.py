"""Train presets: one definition (annotations/train_presets.py) that the train form offers and
train_check merges (explicit builder_kwargs win); each preset is the tested tiny net and builds."""
from __future__ import annotations

import pytest

from annotations import train_presets
from annotations.models import Job
from workers.ml.builders import build_model

from ..ml.support import TINY_FCN, TINY_MASKRCNN, TINY_SEGNET, TINY_UNET
from .support import approved_shapes

pytestmark = pytest.mark.django_db


@pytest.fixture
def project(owner):
    project, _ = approved_shapes(owner=owner, n=3)
    return project


def _queue(api, project, settings, **body):
    settings.LABELER_TASK_RUNNER = "tests.task_runner.QueueOnly"
    return api.post(f"/api/projects/{project.pk}/train/", {"epochs": 1, **body}, format="json")


def test_each_preset_is_the_tested_tiny_net_and_builds():
    tiny = {"fcn-small": TINY_FCN, "unet-small": TINY_UNET, "segnet-small": TINY_SEGNET, "maskrcnn-small": TINY_MASKRCNN}
    assert set(train_presets.PRESETS) == set(tiny)
    for name, preset in train_presets.PRESETS.items():
        resize = ("min_size", "max_size")  # the tests' 64 px; the preset sizes real images (see the module)
        assert {k: v for k, v in preset.builder_kwargs.items() if k not in resize} == {k: v for k, v in tiny[name].items() if k not in resize}
        model = build_model(preset.arch, num_classes=3, **preset.builder_kwargs)
        assert sum(p.numel() for p in model.parameters()) > 0
        assert preset.cost and preset.label


def test_the_form_offers_every_preset_and_every_full_network_with_its_cost():
    choices = train_presets.form_choices()
    assert [c["value"] for c in choices if c["kind"] == "preset"] == list(train_presets.PRESETS)
    assert [c["value"] for c in choices if c["kind"] == "arch"] == ["unet", "segnet", "fcn", "maskrcnn"]
    assert all(c["cost"] for c in choices)


def test_a_preset_sets_the_arch_and_the_builder_kwargs(owner_api, project, settings):
    response = _queue(owner_api, project, settings, preset="fcn-small")
    assert response.status_code == 202, response.json()
    params = Job.objects.get().params
    assert params["arch"] == "fcn" and params["preset"] == "fcn-small"
    assert params["builder_kwargs"] == {"backbone": "resnet18", "output_stride": 8}


def test_builder_kwargs_given_explicitly_win_over_the_preset(owner_api, project, settings):
    response = _queue(owner_api, project, settings, preset="unet-small", arch="unet", builder_kwargs={"base_width": 16})
    assert response.status_code == 202, response.json()
    assert Job.objects.get().params["builder_kwargs"] == {"depth": 2, "base_width": 16}


@pytest.mark.parametrize("body, words", [
    ({"preset": "fcn-small", "arch": "unet"}, "preset 'fcn-small' is a fcn, not a unet"),
    ({"preset": "huge"}, "preset:"),
])
def test_a_preset_that_contradicts_the_request_is_refused(owner_api, project, settings, body, words):
    response = _queue(owner_api, project, settings, **body)
    assert response.status_code == 400 and words in response.json()["message"], response.json()
    assert not Job.objects.exists()


def test_a_preset_cannot_fine_tune_a_version(owner_api, project, settings):
    from annotations.models import ModelVersion

    parent = ModelVersion.objects.create(project=project, name="base", architecture="fcn", class_mapping=[None])
    response = _queue(owner_api, project, settings, preset="fcn-small", from_version=parent.pk)
    assert response.status_code == 400 and "give preset or from_version" in response.json()["message"]
