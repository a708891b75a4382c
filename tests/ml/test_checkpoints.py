import pytest
import torch

from workers.ml.checkpoints import (
    CheckpointError,
    ModelSpec,
    load_checkpoint,
    load_torchvision_weights,
    save_checkpoint,
    torchvision_weights_path,
)
from workers.ml.synthetic import CLASS_NAMES

from .support import TINY_UNET, build_seeded


def test_a_checkpoint_round_trips_weights_and_metadata(tmp_path):
    spec = ModelSpec(
        arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET,
        size_policy={"mode": "resize", "size": [64, 64]},
    )
    model = build_seeded(spec).eval()
    path = tmp_path / "model.pt"
    save_checkpoint(path, model, spec, extra={"metrics": {"miou": 0.9}})

    loaded, loaded_spec = load_checkpoint(path)

    assert loaded_spec == spec
    x = torch.randn(1, 3, 40, 40)
    with torch.no_grad():
        assert torch.equal(loaded(x), model(x))
    raw = torch.load(path, map_location="cpu", weights_only=True)
    assert raw["extra"]["metrics"]["miou"] == 0.9


def test_weights_of_another_architecture_are_refused_with_the_keys_named(tmp_path):
    unet_spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_seeded(unet_spec), unet_spec)
    raw = torch.load(path, weights_only=True)
    raw["spec"]["arch"] = "segnet"
    torch.save(raw, path)

    with pytest.raises(CheckpointError, match="architecture 'segnet'") as excinfo:
        load_checkpoint(path)
    assert "unexpected keys" in str(excinfo.value)
    assert "bottleneck" in str(excinfo.value)


def test_a_class_count_mismatch_names_the_shapes(tmp_path):
    spec = ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs=TINY_UNET)
    path = tmp_path / "model.pt"
    save_checkpoint(path, build_seeded(spec), spec)
    raw = torch.load(path, weights_only=True)
    raw["spec"]["class_names"] = list(CLASS_NAMES) + ["star"]
    torch.save(raw, path)

    with pytest.raises(CheckpointError, match=r"head.weight \(4, 8, 1, 1\) vs \(5, 8, 1, 1\)"):
        load_checkpoint(path)


def test_a_pickled_object_is_not_executed(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"spec": object(), "state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="not a loadable weights-only checkpoint"):
        load_checkpoint(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(CheckpointError, match="not found: .*nope.pt"):
        load_checkpoint(tmp_path / "nope.pt")


def test_spec_refuses_a_class_count_that_disagrees_with_the_names():
    with pytest.raises(CheckpointError, match="num_classes 3 != 4 class names"):
        ModelSpec(arch="unet", class_names=CLASS_NAMES, builder_kwargs={"num_classes": 3})


def test_published_weights_missing_from_the_cache_name_the_file(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    expected = tmp_path / "hub" / "checkpoints" / "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth"
    assert torchvision_weights_path("maskrcnn") == expected
    with pytest.raises(CheckpointError, match="missing file .*maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth"):
        load_torchvision_weights("maskrcnn", min_size=64, max_size=64)


def test_published_fcn_weights_load_from_the_cache_with_their_class_names(tmp_path, monkeypatch):
    from torchvision.models.segmentation import fcn_resnet50

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    path = torchvision_weights_path("fcn")
    path.parent.mkdir(parents=True)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        published = fcn_resnet50(weights=None, weights_backbone=None, num_classes=21, aux_loss=True)
    torch.save(published.state_dict(), path)  # the layout torchvision publishes

    model, spec = load_torchvision_weights("fcn")

    assert spec.class_names[0] == "background" and spec.class_names[15] == "person"
    assert spec.num_classes == 21
    assert torch.equal(
        model.model.classifier[4].weight, published.classifier[4].weight
    )


def test_a_spec_written_with_the_old_normalisation_key_keeps_its_values():
    old = {"arch": "unet", "class_names": ["background", "a"], "normalisation": {"mean": [0.1] * 3, "std": [0.2] * 3}}
    spec = ModelSpec.from_dict(old)
    assert spec.normalization == {"mean": [0.1] * 3, "std": [0.2] * 3}
    assert "normalization" in spec.to_dict() and "normalisation" not in spec.to_dict()
