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
    """The notebook's pick_latent_points, given these NumPy codes and labels as tensors."""
    return lambda z, labels: defs["pick_latent_points"](torch.tensor(z), torch.tensor(labels))


def test_chooses_the_wide_but_separated_class(pick):
    z, labels = blobs()
    p = pick(z, labels)
    assert p["class"] == 0
    assert set(p["span"]) == {0, 1, 4}  # the well-separated classes, not 2 and 3
    assert p["span"][0] == max(p["span"].values())
    assert min(p["share"][c] for c in (0, 1, 4)) >= 0.8 > max(p["share"][2], p["share"][3])


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
    assert p["span"][0] == pytest.approx(np.linalg.norm(a - b))
    assert (z == a).all(1).any() and (z == b).all(1).any()  # both are codes


def mixing(z, labels, point, p, q, k=10):
    """The shares of classes p and q among the k nearest codes of point, itself one of z."""
    d = np.linalg.norm(z - np.asarray(point), axis=1)
    near = labels[np.argsort(d)[1:k + 1]]  # leaving the point itself out
    return (near == p).mean(), (near == q).mean()


def test_overlap_point_is_where_two_classes_mix(pick):
    z, labels = blobs()
    p = pick(z, labels)
    assert p["overlap"] == (2, 3)
    assert p["links"][(2, 3)] == max(p["links"].values())
    assert np.linalg.norm(np.asarray(p["C"]) - np.array([-9.75, -10])) < 1.0
    assert (np.asarray(p["C"]) == z).all(1).any()  # C is one of the codes
    assert min(mixing(z, labels, p["C"], 2, 3)) >= 0.4
    near = p["near C"].tolist()
    assert min(near.count(2), near.count(3)) == 5  # split as evenly as ten neighbours can be
    near = nearest_labels(z, labels, p["C"], k=20)
    assert (near == 2).sum() >= 5 and (near == 3).sum() >= 5


def test_overlap_point_stays_on_a_curved_border(pick):
    """Class 1 rings class 0, so the codes where they mix lie on a circle, and the median of
    those codes at its centre, among class 0 alone: C must be on the circle itself."""
    rng = np.random.default_rng(5)
    angle, radius = rng.uniform(0, 2 * np.pi, 600), rng.normal(4, 0.5, 600)
    ring = np.stack([radius * np.cos(angle), radius * np.sin(angle)], 1)
    z = np.concatenate([rng.normal(0, 1.2, (600, 2)), ring, rng.normal((40, 0), 1, (600, 2))])
    labels = np.repeat([0, 1, 2], 600)
    p = pick(z, labels)
    assert p["overlap"] == (0, 1)
    assert 2.4 < np.linalg.norm(p["C"]) < 3.6  # on the circle where the two mix
    assert min(mixing(z, labels, p["C"], 0, 1)) >= 0.4
    near = nearest_labels(z, labels, p["C"])
    assert (near == 0).sum() >= 3 and (near == 1).sum() >= 3


def test_the_widest_class_is_passed_over_when_it_does_not_stand_apart(pick):
    """Class 0 spans the most ground but shares it with class 1; class 2, narrower, stands
    apart: A and B go to class 2."""
    spec = {0: ((0, 0), 3.0), 1: ((0, 0), 1.0), 2: ((20, 0), 1.5), 3: ((0, 20), 0.5)}
    z, labels = blobs(spec=spec, seed=6)
    p = pick(z, labels)
    assert p["share"][0] < 0.8 and 0 not in p["span"]
    assert p["class"] == 2 and set(p["span"]) == {2, 3}
    assert p["overlap"] == (0, 1)


def test_ties_are_settled_and_the_rule_still_holds(pick):
    """Codes on a square lattice, where distances tie everywhere: classes 0 and 1 share a
    10 x 20 block down its middle, and class 2 is a copy of class 0's half far off. Class 2
    stands wholly apart and is the widest, with two diagonals of equal length; C lies on the
    border of 0 and 1. Every tie is settled, the same way each time."""
    grid = np.stack(np.meshgrid(np.arange(20.0), np.arange(10.0)), -1).reshape(-1, 2)
    left = grid[:, 0] < 10
    z = np.concatenate([grid, grid[left] + (40, 0)])
    labels = np.concatenate([np.where(left, 0, 1), np.full(left.sum(), 2)])
    p = pick(z, labels)
    again = pick(z, labels)
    for key in ("A", "B", "C"):
        assert torch.equal(p[key], again[key])
    assert p["class"] == 2 and p["share"][2] == 1
    a, b = p["A"].numpy(), p["B"].numpy()
    assert np.linalg.norm(a - b) == pytest.approx(np.hypot(9, 9))  # opposite corners
    assert {tuple(a - (40, 0)), tuple(b - (40, 0))} in ({(0, 0), (9, 9)}, {(0, 9), (9, 0)})
    assert p["overlap"] == (0, 1) and 9 <= p["C"][0] <= 10
    near = p["near C"].tolist()
    assert min(near.count(0), near.count(1)) >= 3


def test_single_and_double_precision_codes_agree_and_repeat(defs):
    z, labels = blobs(seed=4)
    pick = defs["pick_latent_points"]
    p = pick(torch.tensor(z), torch.tensor(labels))
    q = pick(torch.tensor(z, dtype=torch.float32), torch.tensor(labels))
    assert p["class"] == q["class"] and isinstance(p["class"], int)
    assert p["overlap"] == q["overlap"]
    for key in ("A", "B", "C"):
        np.testing.assert_allclose(p[key], q[key].double(), rtol=1e-6)
        assert tuple(p[key].shape) == (2,)
    torch.testing.assert_close(p["A"], pick(torch.tensor(z), torch.tensor(labels))["A"],
                               rtol=0, atol=0)


def test_a_few_thousand_codes(pick):
    z, labels = blobs(per_class=700, seed=1)
    assert pick(z, labels)["class"] == 0


def separation(z, labels, k=10):
    """Per class, the mean share of its codes' k nearest neighbours that are in the class."""
    d = np.linalg.norm(z[:, None] - z[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    own = (labels[np.argsort(d, axis=1)[:, :k]] == labels[:, None]).mean(1)
    return {c: own[labels == c].mean() for c in np.unique(labels)}


def test_when_no_class_is_well_separated_the_best_separated_is_chosen(pick):
    """Three overlapping classes, none with 8 of 10 neighbours its own: class 2, the farthest
    from the others, is the best separated, and the only candidate."""
    spec = {0: ((0, 0), 1.0), 1: ((0.5, 0), 1.0), 2: ((2.5, 0), 1.0)}
    z, labels = blobs(spec=spec, seed=3)
    sep = separation(z, labels)
    assert max(sep.values()) < 0.8 and max(sep, key=sep.get) == 2
    p = pick(z, labels)
    assert p["class"] == 2 and list(p["span"]) == [2]
    assert p["overlap"] == (0, 1)


def test_when_no_code_is_mixed_enough_c_lies_among_the_most_mixed(pick):
    """Two classes that barely touch: no code has 40 % of each among its neighbours, so C is
    the most mixed code nearest to the median of the most mixed, on the border between them."""
    spec = {0: ((0, 0), 1.0), 1: ((6, 0), 1.0), 2: ((0, 30), 1.0), 3: ((30, 30), 1.0)}
    z, labels = blobs(spec=spec, seed=2)
    p = pick(z, labels)
    assert p["overlap"] == (0, 1) and 0 < p["links"][(0, 1)] < 20
    assert 2 < p["C"][0] < 4 and abs(p["C"][1]) < 2


def boxes(ax):
    """The rendered extents of the Axes' texts, by text."""
    renderer = ax.figure.canvas.get_renderer()
    return {t.get_text(): t.get_window_extent(renderer) for t in ax.texts}


def test_part_e_figure_stars_and_decodes_the_points_under_the_same_letters(defs):
    torch.manual_seed(0)
    net = defs["MyAE"](49, 2)
    x, labels = torch.rand(40, 49), torch.arange(40) % 4
    points = {"A": torch.tensor([0.0, 0.0]), "B": torch.tensor([1.0, 1.0]),
              "C": torch.tensor([2.0, -1.0])}
    fig = defs["plot_points"](net, x, labels, points)
    scatter, *images = fig.axes
    assert [a.get_title() for a in images] == ["A", "B", "C"]
    assert [t.get_text() for t in scatter.texts] == ["A", "B", "C"]
    np.testing.assert_allclose(images[1].images[0].get_array(),
                               net.decode(torch.tensor([1.0, 1.0])).detach().view(7, 7),
                               atol=1e-6)
    stars = [c for c in scatter.collections if c.get_label() not in "0123"]
    np.testing.assert_allclose(np.concatenate([s.get_offsets() for s in stars]),
                               np.stack([p.numpy() for p in points.values()]))
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    letters = list(boxes(scatter).values())
    titles = [a.title.get_window_extent(renderer) for a in images]
    for group in (letters, titles + [a.get_window_extent(renderer) for a in images]):
        for i, one in enumerate(group):  # no label hides another label, nor an image a title
            assert not any(one.overlaps(other) for other in group[i + 1:])
    for star, letter in zip(stars, letters):  # each letter sits beside its star, not on it
        centre = scatter.transData.transform(star.get_offsets()[0])
        assert not letter.contains(*centre)
    plt.close("all")


@pytest.mark.parametrize("spread", [6.0, 0.01], ids=["apart", "all on one spot"])
def test_map_labels_sit_at_the_class_medians_unless_they_would_overlap(extras, spread):
    """The companion's map writes each class at the median of its codes; labels that would
    cover each other (here, in the second case, all ten medians on one spot) move to the
    nearest free place instead, and no two overlap."""
    net = types.SimpleNamespace(
        img_size2=49, embedding_dim=2,
        encode=lambda x: torch.as_tensor(x)[:, :2] * 1.0,
        decode=lambda h: torch.sigmoid(torch.as_tensor(h).float() @ torch.ones(2, 49)))
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(10), 20)
    centres = rng.normal(0, spread, (10, 2))
    x = np.zeros((200, 49))
    x[:, :2] = centres[labels] + rng.normal(0, 0.3, (200, 2)) + [0, 10]
    fig = extras["plot_latent_map"](net, torch.tensor(x), labels, n=6)
    ax = fig.axes[0]
    assert ax.images[0].get_array().shape == (42, 42) and len(fig.axes) == 1
    fig.canvas.draw()
    found = boxes(ax)
    assert sorted(found) == [str(c) for c in range(10)]
    extents = list(found.values())
    for i, one in enumerate(extents):
        assert not any(one.overlaps(other) for other in extents[i + 1:])
    if spread > 1:
        for t in ax.texts:  # apart: each label at its class's median
            median = np.median(x[labels == int(t.get_text()), :2], 0)
            shown = ax.transData.inverted().transform(
                ax.transAxes.transform(t.get_position()))
            np.testing.assert_allclose(shown, median, rtol=1e-4, atol=1e-6)
    plt.close("all")
