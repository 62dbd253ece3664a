"""The autotester's view of a05_jorchard.ipynb: only the import cell and the definition cells
(MyAE, balanced_subset, train, plot_latent, plot_reconstructions, pick_points, plot_points),
called with inputs of our own."""
import matplotlib.colors
import matplotlib.markers
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch


@pytest.fixture
def MyAE(defs):
    return defs["MyAE"]


def linear_layers(seq):
    return [m for m in seq.modules() if isinstance(m, torch.nn.Linear)]


@pytest.mark.parametrize("shape, code_shape", [
    ((6, 784), (6, 2)),  # rows
    ((6, 28, 28), (6, 2)),  # images
    ((6, 1, 28, 28), (6, 2)),  # a DataLoader batch
    ((1, 1, 28, 28), (1, 2)),
    ((784,), (2,)),  # one row
])
def test_encode_decode_and_forward_take_every_shape_the_assignment_uses(MyAE, shape,
                                                                        code_shape):
    torch.manual_seed(0)
    net = MyAE()
    x = torch.rand(shape)
    h = net.encode(x)
    assert h.shape == code_shape
    assert net.decode(h).shape == code_shape[:-1] + (784,)
    assert net(x).shape == x.shape
    rows = x.reshape(-1, 784)  # the same pixels as rows give the same codes
    torch.testing.assert_close(net.encode(rows).reshape(code_shape), h)


@pytest.mark.parametrize("img_size2, embedding_dim", [(784, 2), (196, 2), (100, 3), (64, 1)])
def test_the_sizes_come_from_the_constructor(MyAE, img_size2, embedding_dim):
    net = MyAE(img_size2=img_size2, embedding_dim=embedding_dim)
    assert (net.img_size2, net.embedding_dim) == (img_size2, embedding_dim)
    h = net.encode(torch.rand(7, img_size2))
    assert h.shape == (7, embedding_dim) and net.decode(h).shape == (7, img_size2)
    assert net.encode(torch.rand(img_size2)).shape == (embedding_dim,)


def test_two_or_more_hidden_layers_each_side_with_fixed_widths(MyAE):
    net = MyAE(784, 2)
    enc, dec = linear_layers(net.encoder), linear_layers(net.decoder)
    assert len(enc) >= 3 and len(dec) >= 3
    assert (enc[0].in_features, enc[-1].out_features) == (784, 2)
    assert (dec[0].in_features, dec[-1].out_features) == (2, 784)
    assert [m.out_features for m in linear_layers(MyAE(196, 2).encoder)][:-1] == [
        m.out_features for m in enc][:-1]  # hard-coded hidden widths
    for half in (net.encoder, net.decoder):
        activations = [m for m in half if not isinstance(m, torch.nn.Linear)]
        assert len(activations) >= 2


def test_outputs_are_pixels_in_0_1_and_every_weight_gets_a_gradient(MyAE):
    torch.manual_seed(1)
    net = MyAE(196, 2)
    y = net.decode(torch.randn(50, 2) * 1e3)
    assert y.min() >= 0 and y.max() <= 1
    x = torch.rand(16, 196)
    torch.nn.functional.mse_loss(net(x), x).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_double_precision_and_another_device(MyAE):
    net = MyAE(100, 2).double()
    assert net(torch.rand(3, 100, dtype=torch.float64)).dtype == torch.float64
    meta = MyAE(784, 2).to("meta")  # nothing inside is tied to the CPU
    assert meta.encode(torch.rand(3, 1, 28, 28, device="meta")).device.type == "meta"


@pytest.mark.parametrize("bad", [(4, 783), (4, 3, 28, 28), (4, 28, 27), (100,)])
def test_a_wrong_size_stops_with_pytorchs_error(MyAE, bad):
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied|size mismatch"):
        MyAE(784, 2).encode(torch.rand(bad))


def adam(net):
    return torch.optim.Adam(net.parameters(), lr=3e-3, betas=(0.9, 0.98))


def trained(defs, MyAE, x, **kw):
    torch.manual_seed(3)
    net = MyAE(x.shape[-1], 2).to(x.dtype)
    defs["train"](net, adam(net), x, **{"epochs": 40, "batch_size": 16, "noise": 0.1, **kw})
    return net


def test_train_lowers_the_loss_and_repeats_exactly(defs, MyAE):
    x = torch.rand(64, 49) * (torch.rand(1, 49) > 0.5)
    before = torch.nn.functional.mse_loss(MyAE(49, 2)(x), x)
    nets = [trained(defs, MyAE, x, seed=5) for _ in range(2)]
    assert torch.nn.functional.mse_loss(nets[0](x), x) < 0.6 * before
    for p, q in zip(*(n.parameters() for n in nets)):
        assert torch.equal(p, q)


def test_train_carries_the_networks_dtype(defs, MyAE):
    """As on a GPU: the noise goes where the digits are. A half-precision network on
    half-precision digits trains (float32 noise left behind would make float32 inputs, which
    its layers refuse)."""
    net = trained(defs, MyAE, torch.rand(32, 49, dtype=torch.float16), epochs=2)
    assert next(net.parameters()).dtype == torch.float16


def test_train_keeps_the_average_of_the_second_halfs_epochs(defs, MyAE, capsys):
    torch.manual_seed(0)
    net = MyAE(49, 2)
    opt = adam(net)
    seen = []
    opt.register_step_post_hook(
        lambda *_: seen.append([p.detach().clone() for p in net.parameters()]))
    x = torch.rand(32, 49)
    defs["train"](net, opt, x, epochs=4, batch_size=8, noise=0.2, seed=1)
    assert len(seen) == 16  # 4 steps in each of 4 epochs
    for i, p in enumerate(net.parameters()):  # the mean of the ends of epochs 3 and 4
        torch.testing.assert_close(p.detach(), (seen[11][i] + seen[15][i]) / 2)
    last = MyAE(49, 2)  # the weights at the end, before the average: what was printed
    for p, q in zip(last.parameters(), seen[15]):
        p.data = q
    error = torch.nn.functional.mse_loss(last(x), x).item()
    assert capsys.readouterr().out == f"epoch 4, current weights: MSE {error:.4f}\n"


def test_train_prints_the_loss_every_100_epochs_and_at_the_end(defs, MyAE, capsys):
    trained(defs, MyAE, torch.rand(20, 49), epochs=250, batch_size=20)
    printed = [line.split(",")[0] for line in capsys.readouterr().out.splitlines()]
    assert printed == ["epoch 100", "epoch 200", "epoch 250"]


def test_train_adds_the_noise_it_is_given(defs, MyAE):
    """Images that two numbers describe exactly: clean inputs are easy to reconstruct, inputs
    under heavy noise are not."""
    g = torch.Generator().manual_seed(0)
    x = torch.sigmoid(3 * torch.rand(64, 2, generator=g) @ torch.randn(2, 49, generator=g))
    error = {noise: torch.nn.functional.mse_loss(
        trained(defs, MyAE, x, epochs=30, noise=noise)(x), x) for noise in (0.0, 2.0)}
    assert error[2.0] > 2 * error[0.0]


def marker_is(collection, marker):
    """Whether a scatter plot's points are drawn with this marker ("$3$", "*")."""
    style = matplotlib.markers.MarkerStyle(marker)
    expected = style.get_path().transformed(style.get_transform()).vertices
    drawn = collection.get_paths()[0].vertices
    return drawn.shape == expected.shape and np.allclose(drawn, expected)


def scattered(ax):
    """The points of a scatter plot, by the digit its markers draw."""
    return {str(c): points.get_offsets() for points in ax.collections for c in range(10)
            if marker_is(points, f"${c}$")}


def test_plot_latent_the_courses_way_with_a_dataloader(defs, MyAE):
    torch.manual_seed(0)
    net = MyAE(64, 2)
    x, labels = torch.rand(30, 1, 8, 8), torch.arange(30) % 3
    loader = torch.utils.data.DataLoader(list(zip(x, labels)), batch_size=4)
    z = net.encode(x).detach().numpy()
    points = scattered(defs["plot_latent"](net, loader))
    assert sum(map(len, points.values())) == 30
    np.testing.assert_allclose(points["1"], z[labels.numpy() == 1], rtol=1e-5, atol=1e-6)
    two = scattered(defs["plot_latent"](net, loader, num_batches=2))  # the first 8 images
    np.testing.assert_allclose(two["0"], z[[0, 3, 6]], rtol=1e-5, atol=1e-6)
    plt.close("all")


def test_plot_latent_draws_each_code_as_its_digit_in_ten_distinct_colours(defs, MyAE):
    net = MyAE(64, 2)
    ax = defs["plot_latent"](net, [(torch.rand(40, 64), torch.arange(40) % 10)])
    colours = []
    for c, points in enumerate(ax.collections):
        assert marker_is(points, f"${c}$") and len(points.get_offsets()) == 4
        colours.append(matplotlib.colors.to_rgb(points.get_edgecolor()[0]))
    rgb = np.array(colours)
    distance = np.linalg.norm(rgb[:, None] - rgb[None], axis=-1) + 9 * np.eye(10)
    assert distance.min() > 0.25  # no two classes look alike
    plt.close("all")


def test_plot_reconstructions_titles_each_class_and_shows_the_median_digit(defs, MyAE):
    """Every class titled; class 1's digit of median error among three, and its
    reconstruction; class 0's only digit."""
    torch.manual_seed(0)
    net = MyAE(49, 2)
    labels = torch.tensor([3, 1, 1, 0, 2, 3, 2, 1, 9, 8, 7, 6, 5, 4])
    x = torch.rand(14, 49)
    x[2], x[7] = x[1] * 0.2, x[1] * 0.5  # class 1: three digits, three errors
    fig = defs["plot_reconstructions"](net, x, labels)
    assert [a.get_title() for a in fig.axes[:10]] == [str(c) for c in range(10)]
    errors = ((net(x) - x) ** 2).mean(1).detach()
    typical = [1, 2, 7][int(errors[[1, 2, 7]].argsort()[1])]  # the median of three
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), x[typical].view(7, 7))
    np.testing.assert_allclose(fig.axes[11].images[0].get_array(),
                               net(x[typical]).detach().view(7, 7), atol=1e-6)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), x[3].view(7, 7))
    plt.close("all")


def test_balanced_subset_takes_the_same_digits_evenly_from_the_classes(defs):
    dataset = torch.utils.data.TensorDataset(torch.rand(1000, 1, 4, 4))
    dataset.targets = torch.arange(1000) % 10
    x, t = defs["balanced_subset"](dataset, 105)
    assert x.shape == (105, 16) and torch.bincount(t).tolist() == [11] * 5 + [10] * 5
    rows = dataset.tensors[0].flatten(1)
    picked = [int(torch.nonzero((rows == row).all(1))[0]) for row in x]
    assert picked == sorted(set(picked)) and torch.equal(t, dataset.targets[picked])
    assert torch.equal(x, defs["balanced_subset"](dataset, 105)[0])


def blobs(spec, per_class=150, seed=0):
    """Codes drawn around centres, {class: ((x, y), spread)}, and their labels; the classes
    the spec leaves out (MNIST has ten) lie far away in a row, each overlapping the next."""
    spec = {**{k: ((-60 + 3 * k, -60), 1.5) for k in range(10)}, **spec}
    rng = np.random.default_rng(seed)
    z = np.concatenate([rng.normal(centre, spread, (per_class, 2))
                        for centre, spread in spec.values()])
    return torch.tensor(z), torch.tensor(list(spec)).repeat_interleave(per_class)


def nearest(z, labels, i, k=10):
    return labels[(z - z[i]).norm(dim=1).argsort()[1:k + 1]].tolist()


def test_pick_points_on_a_plane_whose_answer_is_known(defs):
    """Class 0 is wide and stands apart; 1 and 2 touch; 3 and 4 overlap."""
    spec = {0: ((0, 0), 3.0), 1: ((30, 0), 1.0), 2: ((33, 0), 1.0), 3: ((30, 30), 1.0),
            4: ((31, 30), 1.0)}
    z, labels = blobs(spec)
    a, b, c, counts = defs["pick_points"](z, labels)
    assert labels[a] == labels[b] == 0
    inside = [i for i in range(150) if nearest(z, labels, i).count(0) >= 9]
    assert a in inside and b in inside
    middle = z[inside].median(0).values  # A: the inside code nearest the middle
    assert (z[a] - middle).norm() == pytest.approx((z[inside] - middle).norm(dim=1).min())
    assert (z[a] - z[b]).norm() == pytest.approx((z[inside] - z[a]).norm(dim=1).max())
    for i in (a, b, c):  # each code's neighbours by class, counted here anew
        assert counts[i].tolist() == [nearest(z, labels, i).count(k) for k in range(10)]
    assert sorted(counts[c].tolist())[-2:] == [5, 5]  # as evenly as ten can be split
    assert defs["pick_points"](z, labels)[:3] == (a, b, c)  # the same every time


def test_pick_points_passes_over_a_wide_class_that_does_not_stand_apart(defs):
    """Class 0 spans the most ground but shares it with class 1: A and B go to class 2, which
    stands apart."""
    spec = {0: ((0, 0), 3.0), 1: ((0, 0), 1.5), 2: ((20, 0), 1.5)}
    z, labels = blobs(spec, seed=6)
    a, b, _, _ = defs["pick_points"](z, labels)
    assert labels[a] == labels[b] == 2


class Plane(torch.nn.Module):
    """A stand-in network whose codes are the first two pixels, so the plane is known."""
    img_size2 = 49

    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.randn(2, 49))

    def encode(self, x):
        return x[:, :2]

    def decode(self, h):
        return torch.sigmoid(h @ self.w)


def test_plot_points_stars_letters_and_decoded_images(defs):
    """Each point starred (hollow, so the codes under it show) with its letter beside it,
    not over it or its nearest codes, and its decoded image under the same letter."""
    torch.manual_seed(0)
    net = Plane()
    z, labels = blobs({0: ((0, 0), 3.0), 1: ((8, 0), 1.0), 2: ((4, 6), 1.0)}, per_class=60)
    x = torch.cat([z.float(), torch.zeros(len(z), 47)], 1)
    points = z[[0, 70, 130]].float()
    decoded = net.decode(points).detach()
    fig = defs["plot_points"](net, x, labels, points, decoded)
    plane, *images = fig.axes
    assert [a.get_title() for a in images] == ["A", "B", "C"]
    for ax, image in zip(images, decoded):
        np.testing.assert_allclose(ax.images[0].get_array(), image.view(7, 7))
    stars = [c for c in plane.collections if marker_is(c, "*")]
    assert len(stars) == 3 and all(np.all(s.get_facecolor()[:, 3] == 0) for s in stars)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    for letter, point in zip(plane.texts, points.double()):
        box = letter.get_window_extent(renderer)
        near = z[(z - point).norm(dim=1).argsort()[:11]]  # the point and its nearest codes
        assert not any(box.contains(*plane.transData.transform(q.tolist())) for q in near)
    plt.close("all")
