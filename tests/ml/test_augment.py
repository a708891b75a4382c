import numpy as np
import torch
from torchvision import tv_tensors

from workers.ml.augment import RandomRot90, instance_train_transforms, semantic_train_transforms


def _rect_mask(h=20, w=30):
    m = torch.zeros(h, w, dtype=torch.uint8)
    m[2:6, 10:25] = 1
    return m


def _enclosing_box(mask):
    ys, xs = torch.nonzero(mask, as_tuple=True)
    return torch.tensor([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], dtype=torch.float32)


def test_rot90_moves_image_mask_and_box_together():
    mask = _rect_mask()
    image = tv_tensors.Image(mask[None].repeat(3, 1, 1).float())
    boxes = tv_tensors.BoundingBoxes(_enclosing_box(mask)[None], format="XYXY", canvas_size=(20, 30))
    rot = RandomRot90()
    for k in range(4):
        out_img, out_mask, out_boxes = (
            rot.transform(x, {"k": k}) for x in (image, tv_tensors.Mask(mask), boxes)
        )
        expected = torch.rot90(mask, k, dims=(-2, -1))
        assert torch.equal(out_mask.as_subclass(torch.Tensor), expected)
        assert torch.equal(out_img[0].as_subclass(torch.Tensor), expected.float())
        assert torch.equal(out_boxes[0].as_subclass(torch.Tensor), _enclosing_box(expected))
        assert tuple(out_boxes.canvas_size) == tuple(expected.shape)


def test_instance_pipeline_keeps_boxes_masks_and_labels_aligned():
    h, w = 48, 48
    masks = torch.zeros(3, h, w, dtype=torch.uint8)
    masks[0, 2:10, 2:12] = 1
    masks[1, 20:40, 25:45] = 1
    masks[2, 30:34, 5:9] = 1
    target = {
        "masks": tv_tensors.Mask(masks),
        "boxes": tv_tensors.BoundingBoxes(torch.stack([_enclosing_box(m) for m in masks]), format="XYXY", canvas_size=(h, w)),
        "labels": torch.tensor([1, 2, 3]),
    }
    pipeline = instance_train_transforms(crop_size=32)
    for _ in range(20):
        img, out = pipeline(tv_tensors.Image(torch.rand(3, h, w)), target)
        n = len(out["labels"])
        assert out["boxes"].shape == (n, 4) and out["masks"].shape == (n, 32, 32)
        assert img.shape == (3, 32, 32)
        for box, m in zip(out["boxes"], out["masks"]):
            ys, xs = torch.nonzero(m, as_tuple=True)
            if len(xs):  # every mask pixel lies inside its (clamped) box
                assert xs.min() >= box[0] - 1 and xs.max() <= box[2] + 1
                assert ys.min() >= box[1] - 1 and ys.max() <= box[3] + 1


def test_semantic_pipeline_crops_to_size_and_keeps_label_values():
    labels = torch.from_numpy(np.random.default_rng(0).integers(0, 3, size=(40, 50)))
    img, mask = semantic_train_transforms(crop_size=24)(
        tv_tensors.Image(torch.rand(3, 40, 50)), tv_tensors.Mask(labels)
    )
    assert img.shape == (3, 24, 24) and mask.shape == (24, 24)
    assert set(mask.unique().tolist()) <= {0, 1, 2}  # nearest, never blended labels
