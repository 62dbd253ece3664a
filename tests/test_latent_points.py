"""pick_latent_points and the part E drawings, on latent codes whose answer is known."""
import types

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

# (centre, spread) per class: 0 is wide but far from the rest, 1 is tight and apart,
# 2 and 3 overlap each other, 4 is medium and apart
BLOBS = {0: ((12, 0), 2.0), 1: ((0, 12), 0.4), 2: ((-10, -10), 1.0), 3: ((-9.5, -10), 1.0),
         4: ((0, -16), 0.7)}


def blobs(per_class=200, seed=0, spec=BLOBS):
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.normal(c, s, size=(per_class, 2)) for c, s in spec.values()])
    return z, np.repeat(list(spec), per_class)


def nearest_labels(z, labels, point, k=10):
    return labels[np.argsort(np.linalg.norm(z - np.asarray(point), axis=1))[:k]]


@pytest.fixture
def pick(defs):
    return defs["pick_latent_points"]


def test_chooses_the_wide_but_separated_class(pick):
    z, labels = blobs()
    p = pick(z, labels)
    assert p["class"] == 0
    assert p["separation"][0] > 0.95 and p["separation"][2] < 0.8
    assert set(p["difference"]) == {0, 1, 4}  # the well-separated classes
    assert p["difference"][0] == max(p["difference"].values())


def test_a_and_b_are_the_two_ends_of_the_class(pick):
    z, labels = blobs()
    p = pick(z, labels)
    a, b = np.asarray(p["A"]), np.asarray(p["B"])
    members = z[labels == 0]
    pairs = np.linalg.norm(members[:, None] - members[None], axis=-1)
    assert (pairs > np.linalg.norm(a - b)).mean() < 0.02  # farther apart than 98 % of pairs
    centre = np.array(BLOBS[0][0])
    assert np.dot(a - centre, b - centre) < 0  # on opposite sides of the cloud
    for point in (a, b):
        assert (nearest_labels(z, labels, point) == 0).sum() >= 9
    assert p["difference"][0] == pytest.approx(np.abs(a - b).mean())  # no decoder: the codes


def test_overlap_point_is_where_two_classes_mix(pick):
    z, labels = blobs()
    p = pick(z, labels)
    assert p["overlap_classes"] == (2, 3)
    assert p["links"][(2, 3)] == max(p["links"].values())
    assert np.linalg.norm(np.asarray(p["overlap"]) - np.array([-9.75, -10])) < 1.0
    near = nearest_labels(z, labels, p["overlap"], k=20)
    assert (near == 2).sum() >= 5 and (near == 3).sum() >= 5


def test_the_decoded_images_not_the_codes_choose_the_class(pick):
    """Two separated classes: 0 long in h0, 1 shorter in h1. A decoder that stretches h1 tenfold
    makes class 1's ends the most different images."""
    spec = {0: ((0, 0), 1.0), 1: ((30, 0), 1.0)}
    z, labels = blobs(spec=spec)
    z[labels == 0, 0] *= 4  # class 0 spans about 16 in h0
    z[labels == 1, 1] *= 2  # class 1 spans about 8 in h1
    assert pick(z, labels)["class"] == 0
    stretch = types.SimpleNamespace(embedding_dim=2,
                                    decode=lambda h: h * torch.tensor([1.0, 10.0]))
    p = pick(z, labels, stretch)
    assert p["class"] == 1 and p["difference"][1] > 2 * p["difference"][0]


def test_numpy_and_torch_inputs_agree_and_repeat(pick):
    z, labels = blobs(seed=4)
    p = pick(z, labels)
    q = pick(torch.tensor(z, dtype=torch.float64), torch.tensor(labels))
    assert p["class"] == q["class"] and isinstance(p["class"], int)
    for key in ("A", "B", "overlap"):
        np.testing.assert_allclose(p[key], q[key])
        assert tuple(p[key].shape) == (2,)
    np.testing.assert_array_equal(p["A"], pick(z, labels)["A"])


def test_a_few_thousand_codes(pick):
    z, labels = blobs(per_class=700, seed=1)
    assert pick(z, labels)["class"] == 0


def test_when_no_class_is_well_separated_the_best_separated_is_chosen(pick):
    """Three overlapping classes, none with 8 of 10 neighbours its own: class 2, the farthest
    from the others, is the best separated, and the only candidate."""
    spec = {0: ((0, 0), 1.0), 1: ((0.5, 0), 1.0), 2: ((2.5, 0), 1.0)}
    z, labels = blobs(spec=spec, seed=3)
    p = pick(z, labels)
    assert max(p["separation"].values()) < 0.8
    assert max(p["separation"], key=p["separation"].get) == 2
    assert p["class"] == 2 and list(p["difference"]) == [2]
    assert p["overlap_classes"] == (0, 1)


def test_drawings_run_headless_and_return_their_figures(defs):
    torch.manual_seed(0)
    net = defs["MyAE"](49, 2)
    x, labels = torch.rand(40, 49), torch.arange(40) % 4
    fig = defs["show_decoded"](net, [(0, 0), (1, 1), (2, -1)], ["A", "B", "C"])
    assert [a.get_title() for a in fig.axes] == ["A", "B", "C"]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(),
                               net.decode(torch.tensor([1.0, 1.0])).detach().view(7, 7),
                               atol=1e-6)
    assert defs["decode_points"](net, np.zeros((5, 2))).shape == (5, 49)
    assert defs["decode_points"](net, [torch.zeros(2), torch.ones(2)]).shape == (2, 49)
    grid = defs["plot_latent_map"](net, x, labels, n=6)
    mosaic = grid.axes[0].images[0].get_array()
    assert mosaic.shape == (42, 42) and len(grid.axes) == 1
    z = defs["latent_codes"](net, x).numpy()
    marks = {t.get_text(): t.get_position() for t in grid.axes[0].texts}
    assert sorted(marks) == ["0", "1", "2", "3"]
    for c in range(4):  # each class's label sits at the median of its codes
        np.testing.assert_allclose(marks[str(c)], np.median(z[labels.numpy() == c], 0),
                                   rtol=1e-5)
    plt.close("all")
