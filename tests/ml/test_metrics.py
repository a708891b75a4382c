import json
import contextlib
import io
import math

import numpy as np
import pytest
from pycocotools import mask as mask_utils
from pycocotools.coco import COCO
from pycocotools.cocoeval import COCOeval

from workers.ml.metrics import SemanticMeter, confusion_matrix, instance_ap, semantic_scores


def test_a_perfect_prediction_scores_one():
    target = np.array([[0, 1], [2, 2]])
    scores = semantic_scores(confusion_matrix(target, target, num_classes=3))
    assert scores.miou == 1.0 and scores.pixel_accuracy == 1.0
    assert scores.per_class_iou == [1.0, 1.0, 1.0]


def test_a_disjoint_prediction_scores_zero():
    target = np.zeros((4, 4), dtype=int)
    target[:2] = 1
    pred = 1 - target
    scores = semantic_scores(confusion_matrix(pred, target, num_classes=2))
    assert scores.miou == 0.0 and scores.pixel_accuracy == 0.0


def test_a_known_partial_overlap():
    # class 1: truth = 4 pixels (row 0), prediction = 2 of them + 2 others: IoU = 2 / 6
    target = np.zeros((4, 4), dtype=int)
    target[0] = 1
    pred = np.zeros((4, 4), dtype=int)
    pred[0, :2] = 1
    pred[1, :2] = 1
    scores = semantic_scores(confusion_matrix(pred, target, num_classes=2))
    assert scores.per_class_iou[1] == pytest.approx(2 / 6)
    assert scores.per_class_iou[0] == pytest.approx(10 / 14)
    assert scores.pixel_accuracy == pytest.approx(12 / 16)
    assert scores.miou == pytest.approx((2 / 6 + 10 / 14) / 2)


def test_ignored_pixels_and_absent_classes_do_not_count():
    target = np.array([[0, 255], [1, 1]])
    pred = np.array([[0, 1], [1, 1]])
    meter = SemanticMeter(3)
    meter.update(pred, target)
    scores = meter.scores()
    assert scores.miou == 1.0
    assert math.isnan(scores.per_class_iou[2])


def test_shape_mismatch_is_refused():
    with pytest.raises(ValueError, match=r"\(2, 2\) != target shape \(3, 3\)"):
        confusion_matrix(np.zeros((2, 2)), np.zeros((3, 3)), num_classes=2)


def _square(y, x, size=10, shape=(40, 40)):
    m = np.zeros(shape, dtype=bool)
    m[y : y + size, x : x + size] = True
    return m


def test_perfect_instances_give_ap_one_and_disjoint_give_zero():
    gt = [[(1, _square(0, 0)), (2, _square(20, 20))]]
    perfect = [[(1, 0.9, _square(0, 0)), (2, 0.8, _square(20, 20))]]
    disjoint = [[(1, 0.9, _square(25, 0)), (2, 0.8, _square(0, 25))]]
    assert instance_ap(gt, perfect)["ap"] == pytest.approx(1.0)
    assert instance_ap(gt, disjoint)["ap"] == pytest.approx(0.0)


def test_ap_equals_pycocotools_on_the_same_data(tmp_path):
    rng = np.random.default_rng(0)
    gt, preds = [], []
    for _ in range(4):
        g, p = [], []
        for _ in range(3):
            y, x = rng.integers(0, 28, size=2)
            c = int(rng.integers(1, 3))
            g.append((c, _square(y, x)))
            dy, dx = rng.integers(-4, 5, size=2)
            p.append((c, float(rng.uniform(0.3, 1.0)), _square(max(0, y + dy), max(0, x + dx))))
        gt.append(g)
        preds.append(p)

    ours = instance_ap(gt, preds)

    # The reference: COCO files on disk, as pycocotools' own docs use them.
    images, anns, dets = [], [], []
    for i, (g, p) in enumerate(zip(gt, preds), start=1):
        images.append({"id": i, "height": 40, "width": 40})
        for c, m in g:
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            anns.append({"id": len(anns) + 1, "image_id": i, "category_id": c, "segmentation": rle,
                         "area": float(m.sum()), "bbox": list(mask_utils.toBbox(rle)), "iscrowd": 0})
        for c, s, m in p:
            rle = mask_utils.encode(np.asfortranarray(m.astype(np.uint8)))
            rle["counts"] = rle["counts"].decode()
            dets.append({"image_id": i, "category_id": c, "segmentation": rle, "score": s})
    (tmp_path / "gt.json").write_text(json.dumps(
        {"images": images, "annotations": anns, "categories": [{"id": 1, "name": "a"}, {"id": 2, "name": "b"}]}
    ))
    (tmp_path / "dt.json").write_text(json.dumps(dets))
    with contextlib.redirect_stdout(io.StringIO()):
        coco_gt = COCO(str(tmp_path / "gt.json"))
        coco_dt = coco_gt.loadRes(str(tmp_path / "dt.json"))
        ev = COCOeval(coco_gt, coco_dt, iouType="segm")
        ev.evaluate(), ev.accumulate(), ev.summarize()

    assert 0 < ours["ap"] < 1
    assert ours["ap"] == pytest.approx(ev.stats[0])
    assert ours["ap50"] == pytest.approx(ev.stats[1])
    assert ours["ap75"] == pytest.approx(ev.stats[2])


def test_no_predictions_scores_zero_not_an_error():
    gt = [[(1, _square(0, 0))]]
    assert instance_ap(gt, [[]])["ap"] == 0.0


def test_a_detection_inside_a_crowd_region_is_no_false_positive():
    crowd = np.zeros((40, 40), dtype=bool)
    crowd[20:40, 0:40] = True
    inside = np.zeros((40, 40), dtype=bool)
    inside[22:38, 2:20] = True  # about a third of the crowd region, scored above the real object
    preds = [[(1, 0.95, inside), (1, 0.9, _square(0, 0))]]

    as_crowd = instance_ap([[(1, _square(0, 0)), (1, crowd, True)]], preds)
    as_object = instance_ap([[(1, _square(0, 0)), (1, crowd, False)]], preds)

    assert as_crowd["ap"] == pytest.approx(1.0)
    assert as_object["ap"] < 0.6  # the same region as an object: a missed object and a false positive


def test_missing_a_crowd_region_is_no_false_negative():
    crowd = np.zeros((40, 40), dtype=bool)
    crowd[25:40, 25:40] = True
    preds = [[(1, 0.9, _square(0, 0))]]
    assert instance_ap([[(1, _square(0, 0)), (1, crowd, True)]], preds)["ap"] == pytest.approx(1.0)
    assert instance_ap([[(1, _square(0, 0)), (1, crowd)]], preds)["ap"] < 0.6
