"""The autotester's view: only the import cell and the definition cells, called with our inputs."""
import ast
import shutil

import matplotlib.markers
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

import nbtools
from conftest import ROOT


@pytest.fixture
def MyAE(defs):
    return defs["MyAE"]


def linear_layers(seq):
    return [m for m in seq.modules() if isinstance(m, torch.nn.Linear)]


def test_default_arguments_are_mnist_and_a_2d_latent_space(MyAE):
    net = MyAE()
    assert (net.img_size2, net.embedding_dim) == (784, 2)
    assert net.encode(torch.rand(3, 784)).shape == (3, 2)
    assert net(torch.rand(3, 1, 28, 28)).shape == (3, 1, 28, 28)


@pytest.mark.parametrize("img_size2, embedding_dim", [(784, 2), (196, 2), (100, 3), (64, 1)])
def test_encode_decode_shapes_batched_and_single(MyAE, img_size2, embedding_dim):
    torch.manual_seed(0)
    net = MyAE(img_size2, embedding_dim)
    x = torch.rand(7, img_size2)
    h = net.encode(x)
    y = net.decode(h)
    assert h.shape == (7, embedding_dim) and y.shape == (7, img_size2)
    assert torch.allclose(net(x), y)
    one = net.encode(x[0])
    assert one.shape == (embedding_dim,) and net.decode(one).shape == (img_size2,)
    assert torch.allclose(one, h[0], atol=1e-5)
    assert net(x[:1]).shape == (1, img_size2)


def test_outputs_are_pixels_in_0_1(MyAE):
    net = MyAE(784, 2)
    y = net.decode(torch.randn(50, 2) * 1e3)
    assert y.min() >= 0 and y.max() <= 1
    assert net(torch.rand(5, 784)).min() >= 0


def test_at_least_two_hidden_layers_each_side_and_a_2d_latent(MyAE):
    net = MyAE(784, 2)
    enc, dec = linear_layers(net.encoder), linear_layers(net.decoder)
    assert len(enc) >= 3 and len(dec) >= 3
    assert enc[0].in_features == 784 and enc[-1].out_features == 2
    assert dec[0].in_features == 2 and dec[-1].out_features == 784
    hidden = [m.out_features for m in enc[:-1]] + [m.out_features for m in dec[:-1]]
    assert all(w > 2 for w in hidden)
    assert MyAE(196, 2).encoder[0].out_features == enc[0].out_features  # widths are fixed
    nonlinear = (torch.nn.ReLU, torch.nn.ELU, torch.nn.Tanh, torch.nn.LeakyReLU, torch.nn.GELU,
                 torch.nn.SiLU, torch.nn.Sigmoid)
    assert sum(isinstance(m, nonlinear) for m in net.encoder.modules()) >= 2
    assert sum(isinstance(m, nonlinear) for m in net.decoder.modules()) >= 2


def test_gradients_reach_every_parameter(MyAE):
    torch.manual_seed(1)
    net = MyAE(196, 2)
    x = torch.rand(16, 196)
    torch.nn.functional.mse_loss(net(x), x).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_moves_to_a_device_and_accepts_double(MyAE):
    net = MyAE(100, 2).to("cpu")
    assert net(torch.rand(3, 100, dtype=torch.float64)).dtype == torch.float32
    if torch.cuda.is_available():
        gpu = MyAE(100, 2).to("cuda")
        assert gpu(torch.rand(3, 100, device="cuda")).device.type == "cuda"


@pytest.mark.parametrize("shape, code_shape", [
    ((6, 784), (6, 2)),  # rows
    ((6, 28, 28), (6, 2)),  # images
    ((6, 1, 28, 28), (6, 2)),  # a DataLoader batch
    ((1, 1, 28, 28), (1, 2)),
    ((784,), (2,)),  # one row
    ((28, 28), (2,)),  # one image
    ((0, 784), (0, 2)),  # no images at all
])
@pytest.mark.parametrize("kind", ["tensor", "numpy"])
def test_any_reasonable_image_shape(MyAE, shape, code_shape, kind):
    torch.manual_seed(0)
    net = MyAE(784, 2)
    x = torch.rand(shape)
    given = x.numpy() if kind == "numpy" else x
    h = net.encode(given)
    assert h.shape == code_shape
    y = net.decode(h)
    assert y.shape == ((len(x), 784) if len(code_shape) == 2 else (784,))
    assert net(given).shape == x.shape
    flat = x.reshape(-1, 784)
    if len(flat):
        torch.testing.assert_close(net.encode(flat).reshape(code_shape), h)
        torch.testing.assert_close(net(flat).reshape(shape), net(given))


def test_non_square_images(MyAE):
    net = MyAE(12, 3)
    x = np.random.default_rng(0).random((4, 3, 4))  # float64, 3x4 images
    assert net.encode(x).shape == (4, 3) and net.encode(x).dtype == torch.float32
    assert net(x).shape == (4, 3, 4)
    assert net.encode(x[0]).shape == (3,)
    assert net.decode(np.zeros(3)).shape == (12,)


@pytest.mark.parametrize("bad, words", [
    (torch.rand(4, 783), r"784 float pixels.*\(N, 784\).*got torch.float32 of shape \(4, 783\)"),
    (torch.rand(4, 3, 28, 28), r"shape \(4, 3, 28, 28\)"),  # three colour channels
    (torch.rand(4, 28, 27), r"shape \(4, 28, 27\)"),
    (torch.rand(100), r"shape \(100,\)"),
    (torch.tensor(1.0), r"shape \(\)"),
    (np.zeros((2, 784), dtype=np.uint8), "float pixels in \\[0, 1\\].*got torch.uint8"),
    (torch.zeros(2, 784, dtype=torch.uint8), "got torch.uint8"),
])
def test_wrong_input_is_refused_clearly(MyAE, bad, words):
    net = MyAE(784, 2)
    with pytest.raises(ValueError, match=words):
        net.encode(bad)
    with pytest.raises(ValueError, match=words):
        net(bad)


def test_follows_the_network_to_its_device(MyAE):
    """Nothing is tied to the CPU: a network on another device (here PyTorch's shape-only
    'meta' device) takes CPU input and computes on its own device."""
    net = MyAE(784, 2).to("meta")
    assert net.encode(torch.rand(3, 1, 28, 28)).device.type == "meta"
    assert net.decode(torch.zeros(3, 2)).device.type == "meta"


def adam(net, lr=3e-3):
    """The optimiser the notebook gives train."""
    return torch.optim.Adam(net.parameters(), lr=lr, betas=(0.9, 0.98))


def test_train_lowers_the_loss_and_is_repeatable(defs, MyAE):
    x = torch.rand(64, 49) * (torch.rand(1, 49) > 0.5)
    runs, weights = [], []
    for _ in range(2):
        torch.manual_seed(3)
        net = MyAE(49, 2)
        runs.append(defs["train"](net, adam(net), x, epochs=40, batch_size=16, seed=5,
                                  noise=0.1))
        weights.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    losses = runs[0]
    assert len(losses) == 40 and losses[-1] < 0.6 * losses[0]
    assert runs[0] == runs[1] and torch.equal(*weights)


def test_train_keeps_the_average_weights_of_the_second_half(defs, MyAE, capsys):
    """The network train leaves behind holds the mean of its weights at the end of each epoch
    of the second half; the loss is printed every 50 epochs and at the end."""
    torch.manual_seed(0)
    net = MyAE(49, 2)
    opt = adam(net)
    seen = []
    opt.register_step_post_hook(
        lambda *_: seen.append([p.detach().clone() for p in net.parameters()]))
    losses = defs["train"](net, opt, torch.rand(32, 49), epochs=4, batch_size=8, seed=1,
                           noise=0.2)
    assert len(seen) == 16  # 4 steps in each of 4 epochs
    ends = [seen[11], seen[15]]  # after the last steps of epochs 3 and 4
    for i, p in enumerate(net.parameters()):
        torch.testing.assert_close(p.detach(), (ends[0][i] + ends[1][i]) / 2)
        assert not torch.allclose(p.detach(), torch.stack([s[i] for s in seen[8:]]).mean(0))
    assert capsys.readouterr().out == f"epoch 4: loss {losses[-1]:.4f}\n"


def test_train_prints_the_loss_every_50_epochs(defs, MyAE, capsys):
    net = MyAE(49, 2)
    losses = defs["train"](net, adam(net), torch.rand(20, 1, 7, 7, dtype=torch.float64),
                           epochs=120, batch_size=20)
    assert capsys.readouterr().out.splitlines() == [
        f"epoch {e}: loss {losses[e - 1]:.4f}" for e in (50, 100, 120)]


def test_train_adds_noise_when_asked(defs, MyAE):
    """Images that two numbers describe exactly: clean inputs are easy to reconstruct, inputs
    under heavy noise are not."""
    g = torch.Generator().manual_seed(0)
    x = torch.sigmoid(3 * torch.rand(64, 2, generator=g) @ torch.randn(2, 49, generator=g))
    final = {}
    for noise in (0.0, 2.0):
        torch.manual_seed(3)
        net = MyAE(49, 2)
        final[noise] = defs["train"](net, adam(net), x, epochs=30, batch_size=16, seed=5,
                                     noise=noise)[-1]
    assert final[2.0] > 2 * final[0.0]  # noisy inputs make the task harder


def scattered(ax):
    """The points of a scatter plot, by legend label."""
    return {c.get_label(): c.get_offsets() for c in ax.collections}


def test_plot_latent_the_courses_way_with_a_dataloader(defs, MyAE):
    """As the course supplies it: plot_latent(net, loader) and num_batches=k, with batches of
    (images, labels) as a DataLoader gives them."""
    torch.manual_seed(0)
    net = MyAE(64, 2)
    x, labels = torch.rand(30, 1, 8, 8), torch.arange(30) % 3
    loader = torch.utils.data.DataLoader(list(zip(x, labels)), batch_size=4)
    z = net.encode(x).detach().numpy()
    ax = defs["plot_latent"](net, loader)
    assert isinstance(ax, plt.Axes)
    points = scattered(ax)
    assert sorted(points) == ["0", "1", "2"] and sum(map(len, points.values())) == 30
    np.testing.assert_allclose(points["1"], z[labels.numpy() == 1], rtol=1e-5, atol=1e-6)
    two = scattered(defs["plot_latent"](net, loader, num_batches=2))  # the first 8 images
    assert sum(map(len, two.values())) == 8
    np.testing.assert_allclose(two["0"], z[[0, 3, 6]], rtol=1e-5, atol=1e-6)
    plt.close("all")


def test_plot_latent_draws_each_code_as_its_digit(defs, MyAE):
    """Read in grey print, the scatter still tells the classes apart: every point is drawn as
    the digit of its class, each class in its own colour."""
    net = MyAE(64, 2)
    x, labels = torch.rand(40, 64), torch.arange(40) % 10
    ax = defs["plot_latent"](net, [(x, labels)])
    assert len(ax.collections) == 10
    colours = set()
    for c, points in enumerate(ax.collections):
        assert points.get_label() == str(c) and len(points.get_offsets()) == 4
        path = points.get_paths()[0]  # the marker: the glyph of the digit, not a dot
        glyph = matplotlib.markers.MarkerStyle(f"${c}$")
        expected = glyph.get_path().transformed(glyph.get_transform())
        np.testing.assert_allclose(path.vertices, expected.vertices)
        colours.add(tuple(points.get_facecolor()[0]))
    assert len(colours) == 10
    shared, own = plt.subplots()
    assert defs["plot_latent"](net, [(x, labels)], ax=own) is own and len(own.collections) == 10
    plt.close("all")


def test_plot_latent_takes_any_iterable_of_batches(defs, MyAE):
    net = MyAE(64, 2)
    x, labels = np.random.default_rng(0).random((12, 64)), np.arange(12) % 4
    ax = defs["plot_latent"](net, [(x, labels)], title="one batch")  # as the notebook calls it
    assert sum(map(len, scattered(ax).values())) == 12 and ax.get_title() == "one batch"
    batches = ((x[i:i + 5], labels[i:i + 5]) for i in range(0, 12, 5))  # a generator
    assert sum(map(len, scattered(defs["plot_latent"](net, batches, 2)).values())) == 10
    plt.close("all")


def test_plot_reconstructions_shows_each_class_in_and_out(defs, MyAE):
    net = MyAE(49, 2)
    labels = torch.tensor([3, 1, 1, 0, 2, 3, 2, 1])
    x = torch.rand(8, 49)
    x[2], x[7] = x[1] * 0.2, x[1] * 0.5  # class 1: three digits, different errors
    fig = defs["plot_reconstructions"](net, x, labels)
    assert len(fig.axes) == 8
    assert [a.get_title() for a in fig.axes[:4]] == ["0", "1", "2", "3"]
    errors = ((net(x) - x) ** 2).mean(1).detach()
    typical = [1, 2, 7][int(errors[[1, 2, 7]].argsort()[1])]  # the median of three
    np.testing.assert_allclose(fig.axes[1].images[0].get_array(), x[typical].view(7, 7))
    np.testing.assert_allclose(fig.axes[5].images[0].get_array(),
                               net(x[typical]).detach().view(7, 7), atol=1e-6)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), x[3].view(7, 7))
    plt.close("all")


def test_balanced_subset(defs):
    dataset = torch.utils.data.TensorDataset(torch.rand(1000, 1, 4, 4))
    dataset.targets = torch.arange(1000) % 10
    x, t = defs["balanced_subset"](dataset, 105)
    assert x.shape == (105, 16) and t.shape == (105,)
    counts = torch.bincount(t)
    assert counts.max() - counts.min() <= 1
    picked = [int(torch.nonzero((dataset.tensors[0].flatten(1) == row).all(1))[0]) for row in x]
    assert len(set(picked)) == 105 and picked == sorted(picked)
    assert torch.equal(t, dataset.targets[picked])
    again = defs["balanced_subset"](dataset, 105)
    assert torch.equal(x, again[0])
    assert not torch.equal(x, defs["balanced_subset"](dataset, 105, seed=1)[0])


def test_load_mnist_reads_the_shipped_digits_offline(defs, offline):
    train = defs["load_mnist"](str(ROOT / "files"), train=True)
    small = defs["load_mnist"](str(ROOT / "files"), train=False, img_size=14)
    assert len(train) == 4000 and train[0][0].shape == (1, 28, 28)
    assert small[0][0].shape == (1, 14, 14) and 0 <= small[0][0].min() <= small[0][0].max() <= 1


@pytest.mark.parametrize("damage", ["truncate labels", "truncate images", "garbage header"])
def test_damaged_files_are_named_with_the_fix(defs, tmp_path, offline, damage):
    root = tmp_path / "files"
    shutil.copytree(ROOT / "files", root)
    raw = root / "MNIST" / "raw"
    target = raw / ("train-labels-idx1-ubyte" if "labels" in damage
                    else "train-images-idx3-ubyte")
    data = target.read_bytes()
    target.write_bytes(b"\xff" * 16 + data[16:] if "header" in damage else data[:-10])
    with pytest.raises(RuntimeError) as err:
        defs["load_mnist"](str(root), train=True)
    message = str(err.value)
    assert message.startswith(f"no MNIST in {root}/ (") and "\n" not in message
    assert "Put the folder" in message and "downloads MNIST" in message
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert target.is_file() and sorted(p.name for p in raw.iterdir()) == sorted(
        p.name for p in (ROOT / "files" / "MNIST" / "raw").iterdir())  # nothing removed


def test_without_files_or_network_it_says_what_to_do_and_leaves_nothing(
        defs, tmp_path, monkeypatch, offline):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError) as err:
        defs["load_mnist"]("files", train=True)
    message = str(err.value)
    assert message.startswith("no MNIST in files/ (RuntimeError: Error downloading")
    assert "\n" not in message and "next to it" in message and "run online" in message
    cause = message.split(" (", 1)[1].split("). Put the folder")[0]
    assert len(cause) <= 150 and cause.endswith((" [...]", ">", ".")), cause  # whole words
    assert "git " not in message and "tools/" not in message  # fixes a grader can follow
    assert list(tmp_path.iterdir()) == []  # no empty folders left behind


def test_a_folder_without_the_digits_is_named_and_kept(defs, tmp_path, offline):
    root = tmp_path / "files"
    (root / "MNIST" / "raw").mkdir(parents=True)
    (root / "mine.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match=f"no MNIST in {root}/"):
        defs["load_mnist"](str(root), train=False)
    assert (root / "mine.txt").read_text() == "keep me"
    assert (root / "MNIST" / "raw").is_dir()  # it was there before


def test_knn_accuracy(extras):
    knn = extras["knn_accuracy"]
    z = torch.tensor([[0.0, 0], [0.1, 0], [0, 0.1], [5, 5], [5.1, 5], [5, 5.1]])
    t = torch.tensor([0, 0, 0, 1, 1, 1])
    assert knn(z, t, z + 0.01, t, k=3) == 1.0
    assert knn(z, t, z + 0.01, 1 - t, k=3) == 0.0
    assert knn(z, t, torch.tensor([[0.0, 0], [5, 5]]), torch.tensor([0, 0]), k=3) == 0.5


def test_evaluate_reports_both_models(extras, MyAE):
    torch.manual_seed(0)
    net = MyAE(49, 2)
    g = torch.Generator().manual_seed(0)
    x = torch.rand(40, 49, generator=g) * torch.linspace(0, 1, 49)
    t = torch.arange(40) % 4
    r = extras["evaluate"](net, x[:30], t[:30], x[30:], t[30:])
    assert set(r) == {"autoencoder", "PCA"}
    y = net(x[30:]).detach()
    assert r["autoencoder"][1] == pytest.approx(torch.nn.functional.mse_loss(y, x[30:]).item())
    centred = (x[:30] - x[:30].mean(0)).numpy()
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    best = ((centred - centred @ vt[:2].T @ vt[:2]) ** 2).mean()  # PCA-2 on its own data
    assert r["PCA"][0] == pytest.approx(best, rel=1e-4)
    assert all(0 <= v <= 1 for v in r["autoencoder"] + r["PCA"])


def test_no_definition_ties_itself_to_the_cpu(nb):
    """Definitions follow the data or the network to their device: none names 'cpu' as a
    device or builds one. (Moving results to the CPU for plotting, .cpu(), is fine.)"""
    for cell in nbtools.code_cells(nb):
        tree = nbtools.parse(cell)
        if not nbtools.is_definition_cell(tree):
            continue
        for node in ast.walk(tree):
            where = f"{cell.source[:40]}...: {ast.unparse(node)[:60]}"
            assert not (isinstance(node, ast.Attribute) and node.attr == "device"
                        and isinstance(node.value, ast.Name) and node.value.id == "torch"), where
            if not isinstance(node, ast.Call):
                continue
            moved = isinstance(node.func, ast.Attribute) and node.func.attr == "to"
            named = [a for a in node.args if moved] + [
                k.value for k in node.keywords if k.arg == "device"]
            assert not any(isinstance(a, ast.Constant) for a in named), where
