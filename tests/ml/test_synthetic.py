import numpy as np

from workers.ml.synthetic import make_shapes


def test_same_seed_same_images():
    a, b = make_shapes(3, seed=7), make_shapes(3, seed=7)
    assert all(np.array_equal(x.image, y.image) for x, y in zip(a, b))


def test_instances_agree_with_the_label_map():
    for difficulty in ("easy", "realistic"):
        for s in make_shapes(5, size=(40, 56), difficulty=difficulty, seed=3):
            assert s.image.shape == (40, 56, 3) and s.label_map.shape == (40, 56)
            assert s.instances
            rebuilt = np.zeros_like(s.label_map)
            for c, m in s.instances:
                assert not (rebuilt[m] != 0).any()  # visible parts never overlap
                rebuilt[m] = c
            # tiny slivers of occluded shapes are dropped from the instances only
            assert (rebuilt == s.label_map).mean() > 0.99
