"""pick_latent_points and the part E drawings, on latent codes whose answer is known."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

# (centre, spread) per class: 0 is wide but far from the rest, 1 is tight and apart,
# 2 and 3 overlap each other, 4 is medium and apart
BLOBS = {0: ((12, 0), 2.0), 1: ((0, 12), 0.4), 2: ((-10, -10), 1.0), 3: ((-9.5, -10), 1.0),
         4: ((0, -16), 0.7)}


def blobs(per_class=200, seed=0):
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.normal(c, s, size=(per_class, 2)) for c, s in BLOBS.values()])
    return z, np.repeat(list(BLOBS), per_class)


def neighbour_labels(z, labels, point, k=10):
    return labels[np.argsort(np.linalg.norm(z - point, axis=1))[:k]]


@pytest.fixture
def pick(defs):
    return defs["pick_latent_points"]


def test_chooses_the_wide_but_separated_class(pick):
    z, labels = blobs()
    p = pick(z, labels)
    assert p["class"] == 0
    assert p["separation"][0] > 0.95 and p["separation"][2] < 0.8
    assert p["spread"][0] == max(p["spread"].values())


def test_a_and_b_sit_inside_the_class_far_apart(pick):
    z, labels = blobs()
    p = pick(z, labels)
    a, b = p["A"], p["B"]
    assert np.linalg.norm(a - np.array(BLOBS[0][0])) < 1.0  # A near the middle of the cloud
    assert np.linalg.norm(a - b) > 2 * BLOBS[0][1]  # B far from A
    for point in (a, b):
        assert (neighbour_labels(z, labels, point) == 0).sum() >= 9
    members = z[labels == 0]
    assert np.linalg.norm(members - a, axis=1).max() < 3 * np.linalg.norm(a - b)


def test_overlap_point_is_where_two_classes_mix(pick):
    z, labels = blobs()
    p = pick(z, labels)
    assert set(list(p["overlap_classes"])[:2]) == {2, 3}
    assert min(p["overlap_classes"][2], p["overlap_classes"][3]) >= 0.3
    assert np.linalg.norm(p["overlap"] - np.array([-9.75, -10])) < 2.0
    near = neighbour_labels(z, labels, p["overlap"], k=20)
    assert (near == 2).sum() >= 5 and (near == 3).sum() >= 5


def test_numpy_and_torch_inputs_agree_and_repeat(pick):
    z, labels = blobs(seed=4)
    p = pick(z, labels)
    q = pick(torch.tensor(z, dtype=torch.float64), torch.tensor(labels))
    assert p["class"] == q["class"]
    for key in ("A", "B", "overlap"):
        np.testing.assert_allclose(p[key], q[key])
        assert p[key].shape == (2,)
    r = pick(z, labels)
    np.testing.assert_array_equal(p["A"], r["A"])
    assert isinstance(p["class"], int)


def test_a_few_thousand_codes(pick):
    z, labels = blobs(per_class=700, seed=1)
    assert pick(z, labels)["class"] == 0


def test_falls_back_when_no_class_is_well_separated(pick):
    rng = np.random.default_rng(2)
    z, labels = rng.normal(size=(300, 2)), np.arange(300) % 3
    p = pick(z, labels)
    assert p["class"] in (0, 1, 2) and np.isfinite(p["A"]).all() and np.isfinite(p["B"]).all()


@pytest.mark.parametrize("z, labels, words", [
    (np.zeros((10, 3)), np.arange(10) % 2, r"shape \(N, 2\)"),
    (np.zeros(10), np.arange(10) % 2, r"shape \(N, 2\)"),
    (np.zeros((10, 2)), np.arange(9) % 2, "one label per code"),
    (np.zeros((10, 2)), np.zeros(10), "at least two classes"),
    (np.array([[0.0, np.nan]] * 10), np.arange(10) % 2, "NaN"),
])
def test_bad_input_raises_value_error(pick, z, labels, words):
    with pytest.raises(ValueError, match=words):
        pick(z, labels)


def test_drawings_run_headless_and_return_their_figures(defs):
    torch.manual_seed(0)
    net = defs["MyAE"](49, 2)
    x, labels = torch.rand(40, 49), torch.arange(40) % 4
    fig = defs["show_decoded"](net, [(0, 0), (1, 1), (2, -1)], ["A", "B", "C"])
    assert [a.get_title() for a in fig.axes] == ["A", "B", "C"]
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(),
                               net.decode(torch.tensor([1.0, 1.0])).detach().view(7, 7),
                               atol=1e-6)
    ax = defs["star_points"](defs["plot_latent"](net, x, labels), [(0, 0), (1, 1)], ["A", "B"])
    stars = ax.collections[-1]
    np.testing.assert_allclose(stars.get_offsets(), [[0, 0], [1, 1]])
    assert [t.get_text() for t in ax.texts] == ["A", "B"]
    grid = defs["plot_latent_map"](net, x, labels, n=6)
    mosaic = grid.axes[0].images[0].get_array()
    assert mosaic.shape == (42, 42) and len(grid.axes) == 1
    z = defs["latent_codes"](net, x).numpy()
    marks = {t.get_text(): t.get_position() for t in grid.axes[0].texts}
    assert sorted(marks) == ["0", "1", "2", "3"]
    for c in range(4):  # each class's label sits at the median of its codes
        np.testing.assert_allclose(marks[str(c)], np.median(z[labels.numpy() == c], 0),
                                   rtol=1e-5)
    path = defs["plot_path"](net, (0, 0), (2, 2), steps=5)
    assert len(path.axes) == 5 and path.axes[0].get_title() == "A"
    assert path.axes[-1].get_title() == "B"
    plt.close("all")
