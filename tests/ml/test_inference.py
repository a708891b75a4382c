import threading

import numpy as np
import pytest
from PIL import Image

from workers.ml.checkpoints import ModelSpec
from workers.ml.inference import Predictor, assist_box
from workers.ml.metrics import binary_iou
from workers.ml.synthetic import CLASS_NAMES, make_shapes

from .support import TINY_UNET


def test_predictions_come_back_in_order_at_the_original_size_from_paths(tmp_path, trained_unet):
    shapes = make_shapes(5, size=(53, 37), seed=5) + make_shapes(2, size=(64, 71), seed=6)
    paths = []
    for i, s in enumerate(shapes):
        paths.append(tmp_path / f"{i}.png")
        Image.fromarray(s.image).save(paths[-1])

    results = list(Predictor(trained_unet.model, trained_unet.spec, batch_size=3).predict(paths))

    assert [r.key for r in results] == paths
    for r, s in zip(results, shapes):
        assert r.error is None and r.size == s.label_map.shape
        assert r.label_map.shape == s.label_map.shape
        assert 0 <= r.uncertainty <= 1
        for c, m in r.masks.items():
            assert np.array_equal(m, r.label_map == c)
        assert binary_iou(r.label_map > 0, s.label_map > 0) > 0.75


def test_the_resize_policy_maps_masks_back_to_the_original_size(trained_unet):
    spec = ModelSpec(
        arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET,
        size_policy={"mode": "resize", "size": [48, 48]},
    )
    s = make_shapes(1, size=(60, 90), seed=8)[0]
    (r,) = Predictor(trained_unet.model, spec).predict([("x", s.image)])
    assert r.label_map.shape == (60, 90)


def test_a_corrupt_image_is_reported_and_the_stream_goes_on(tmp_path, trained_unet):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"not a jpeg")
    good = make_shapes(2, size=(32, 32), seed=1)
    items = [("a", good[0].image), bad, ("c", good[1].image)]
    results = list(Predictor(trained_unet.model, trained_unet.spec, batch_size=2).predict(items))
    assert [r.key for r in results] == ["a", bad, "c"]
    assert results[1].error and "bad.jpg" in results[1].error or "UnidentifiedImageError" in results[1].error
    assert results[0].error is None and results[2].error is None


def test_decoding_runs_ahead_in_background_threads_within_a_bounded_window(trained_unet):
    image = make_shapes(1, size=(32, 32), seed=1)[0].image
    decoded_on, pulled = [], []

    def items():
        for i in range(40):
            pulled.append(i)
            yield i, lambda: decoded_on.append(threading.current_thread().name) or image

    predictor = Predictor(trained_unet.model, trained_unet.spec, batch_size=2, decode_workers=2)
    stream = predictor.predict(items())
    next(stream)
    assert len(pulled) <= 2 * 2 + 2 + 1  # the window, not the whole input
    rest = list(stream)
    assert len(rest) == 39
    assert all(name.startswith("decode") for name in decoded_on)


def test_running_ahead_gives_the_same_predictions_from_a_background_thread(trained_unet):
    images = [s.image for s in make_shapes(7, size=(32, 40), seed=4)]
    items = [(i, image) for i, image in enumerate(images)]
    predictor = Predictor(trained_unet.model, trained_unet.spec, batch_size=2)
    forward_threads = []
    predictor.model.register_forward_hook(lambda *_: forward_threads.append(threading.current_thread().name))
    inline = list(predictor.predict(items))
    assert set(forward_threads) == {threading.current_thread().name}
    forward_threads.clear()
    ahead = list(predictor.predict(items, run_ahead=True))
    assert set(forward_threads) == {"predict"}
    assert [p.key for p in ahead] == list(range(7))
    for a, b in zip(inline, ahead):
        assert np.array_equal(a.label_map, b.label_map) and a.uncertainty == b.uncertainty


def test_running_ahead_stays_within_two_batches_and_stops_when_the_consumer_does(trained_unet):
    image = make_shapes(1, size=(32, 32), seed=1)[0].image
    pulled = []

    def items():
        for i in range(100):
            pulled.append(i)
            yield i, image

    predictor = Predictor(trained_unet.model, trained_unet.spec, batch_size=2, decode_workers=1)
    stream = predictor.predict(items(), run_ahead=True)
    assert next(stream).key == 0
    stream.close()  # a cancelled job stops consuming
    assert not any(t.name == "predict" for t in threading.enumerate())
    # queue (2 batches) + the batch being computed + the decode window (2 batches + 1 worker)
    assert len(pulled) <= 2 * 2 + 2 + 2 * 2 + 1 + 1


def test_running_ahead_hands_the_models_error_to_the_consumer(trained_unet):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES + ("star",), builder_kwargs=TINY_UNET)
    image = make_shapes(1, size=(32, 32), seed=1)[0].image
    stream = Predictor(trained_unet.model, spec).predict([("a", image)], run_ahead=True)
    with pytest.raises(ValueError, match="outputs 4 classes but the spec maps 5"):
        list(stream)
    assert not any(t.name == "predict" for t in threading.enumerate())


def test_a_spec_whose_classes_disagree_with_the_model_names_both_numbers(trained_unet):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES + ("star",), builder_kwargs=TINY_UNET)
    with pytest.raises(ValueError, match="outputs 4 classes but the spec maps 5"):
        list(Predictor(trained_unet.model, spec).predict([("x", np.zeros((32, 32, 3), np.uint8))]))


def test_box_assist_on_a_semantic_net_returns_the_object_in_the_box(trained_unet):
    s = make_shapes(1, size=(64, 64), max_shapes=1, seed=11)[0]
    (c, truth), = s.instances
    ys, xs = np.nonzero(truth)
    box = (xs.min() - 2, ys.min() - 2, xs.max() + 3, ys.max() + 3)
    mask = assist_box(trained_unet.model, s.image, box, spec=trained_unet.spec)
    assert mask.shape == (64, 64) and mask.dtype == bool
    assert binary_iou(mask, truth) > 0.75


def test_an_empty_box_is_refused(trained_unet):
    with pytest.raises(ValueError, match="empty"):
        assist_box(trained_unet.model, np.zeros((20, 20, 3), np.uint8), (5, 5, 5, 9), spec=trained_unet.spec)
