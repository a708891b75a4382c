"""Training data from the database: approved images only, never unreviewed proposals, z-order, stable split."""
from __future__ import annotations

import numpy as np
import pytest

from annotations import masks, services
from annotations.models import Image, ModelVersion
from annotations.services import Proposal
from workers import training_data

from ..model_support import class_ids, shapes_project
from .support import label_like_a_person

pytestmark = pytest.mark.django_db


def _square(y0, x0, size=10, shape=(48, 48)):
    bitmap = np.zeros(shape, np.uint8)
    bitmap[y0:y0 + size, x0:x0 + size] = 1
    return masks.encode(bitmap)


def test_training_never_reads_unreviewed_proposals(owner):
    project, truths = shapes_project(owner=owner, n=3)
    ids = class_ids(project)
    first, second, third = (Image.objects.get(pk=pk) for pk in truths)
    label_like_a_person(owner=owner, image=first, truth=truths[first.pk], ids=ids)
    model = ModelVersion.objects.create(project=project, name="m", architecture="unet", class_mapping=[None, *ids.values()])
    everywhere = masks.encode(np.ones((48, 48), np.uint8))
    # A pending proposal on an approved image, and one on an image nobody approved.
    services.proposals_replace(image=first, model_version=model, proposals=[Proposal(ids["triangle"], everywhere, 0.9)])
    services.proposals_replace(image=second, model_version=model, proposals=[Proposal(ids["circle"], everywhere, 0.9)])
    label_like_a_person(owner=owner, image=third, truth=truths[third.pk], ids=ids, status="in_progress")

    assert list(training_data.approved_images(project=project).values_list("pk", flat=True)) == [first.pk]
    classes = training_data.class_list_for(project=project, arch="unet")
    [sample] = training_data.samples_for(image_ids=[first.pk], classes=classes, instance=False)
    assert np.array_equal(sample.label_map, truths[first.pk])  # the triangle proposal is nowhere
    [instance_sample] = training_data.samples_for(image_ids=[first.pk], classes=classes, instance=True)
    assert len(instance_sample.instances) == len(np.unique(truths[first.pk])) - 1


def test_label_maps_follow_z_order_and_ignore_classes_the_version_lacks(owner):
    project, truths = shapes_project(owner=owner, n=1)
    ids = class_ids(project)
    image = Image.objects.get(pk=next(iter(truths)))
    extra = services.label_class_create(project=project, name="puddle", kind="semantic")
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=[
        {"label_class": ids["rectangle"], "mask": _square(5, 5), "z_order": 2},
        {"label_class": ids["circle"], "mask": _square(10, 10), "z_order": 1},  # below the rectangle
        {"label_class": extra.pk, "mask": _square(30, 30, 5), "z_order": 3},
    ])
    parent = ModelVersion.objects.create(project=project, name="old", architecture="unet",
                                         class_mapping=[None, ids["circle"], ids["rectangle"], ids["triangle"]])
    classes = training_data.class_list_for(project=project, arch="unet", parent=parent)
    labels = training_data.label_map(image, list(image.annotations.all()), classes)
    assert labels[12, 12] == 2  # rectangle (z 2) over circle (z 1)
    assert labels[18, 18] == 1  # circle where the rectangle does not reach
    assert labels[32, 32] == 255  # a class the version cannot output: ignored, not background
    assert labels[0, 0] == 0


def test_the_split_is_stable_by_image_hash_and_seed(owner):
    project, truths = shapes_project(owner=owner, n=30)
    images = list(Image.objects.filter(project=project).order_by("pk"))
    train, val = training_data.split_images(images, val_fraction=0.2, seed=0)
    assert sorted(train + val) == sorted(truths) and 1 <= len(val) <= 15
    # Removing images and reordering never moves the others.
    subset = images[::-1][:20]
    sub_train, sub_val = training_data.split_images(subset, val_fraction=0.2, seed=0)
    assert set(sub_val) == set(val) & {i.pk for i in subset}
    assert set(sub_train) == set(train) & {i.pk for i in subset}
    other_train, other_val = training_data.split_images(images, val_fraction=0.2, seed=1)
    assert set(other_val) != set(val)


def test_mask_rcnn_learns_only_instance_classes(owner, project, car, road):
    classes = training_data.class_list_for(project=project, arch="maskrcnn")
    assert classes.ids == (car.pk,) and classes.names == ("background", "car")
    assert training_data.class_list_for(project=project, arch="unet").ids == (car.pk, road.pk)


def test_void_pixels_are_ignored_by_training_and_evaluation(owner):
    project, truths = shapes_project(owner=owner, n=1)
    ids = class_ids(project)
    image = Image.objects.get(pk=next(iter(truths)))
    services.annotation_document_save(
        image=image, user=owner, version=image.annotation_version,
        annotations=[{"label_class": ids["rectangle"], "mask": _square(5, 5)}], void=_square(8, 8, 20),
    )
    image.refresh_from_db()
    classes = training_data.class_list_for(project=project, arch="unet")
    [sample] = training_data.samples_for(image_ids=[image.pk], classes=classes, instance=False)
    void = masks.decode(_square(8, 8, 20)).astype(bool)
    assert (sample.label_map[void] == 255).all()  # over the rectangle and the background alike
    assert sample.label_map[6, 6] == ids_index(classes, ids["rectangle"]) and sample.label_map[40, 40] == 0


def ids_index(classes, class_id: int) -> int:
    return classes.index_of()[class_id]


def test_crowd_regions_reach_evaluation_but_not_mask_rcnn_targets(owner):
    from workers.ml.datasets import InstanceDataset

    project, truths = shapes_project(owner=owner, n=1, kind="instance")
    ids = class_ids(project)
    image = Image.objects.get(pk=next(iter(truths)))
    services.annotation_document_save(image=image, user=owner, version=image.annotation_version, annotations=[
        {"label_class": ids["rectangle"], "mask": _square(5, 5)},
        {"label_class": ids["rectangle"], "mask": _square(25, 25, 20), "iscrowd": True},
    ])
    classes = training_data.class_list_for(project=project, arch="maskrcnn")
    [sample] = training_data.samples_for(image_ids=[image.pk], classes=classes, instance=True)
    assert [crowd for _, _, crowd in sample.instances] == [False, True]

    _, target = InstanceDataset([sample], num_classes=len(classes.ids) + 1)[0]
    assert target["masks"].shape[0] == 1 and target["masks"][0, 6, 6] == 1  # the crowd region is no object to learn
