"""The autotester's view: only the import cell and the definition cells, called with our inputs."""
import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from conftest import OFFLINE, ROOT


@pytest.fixture
def MyAE(defs):
    return defs["MyAE"]


def linear_layers(seq):
    return [m for m in seq.modules() if isinstance(m, torch.nn.Linear)]


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


@pytest.mark.parametrize("bad, error, words", [
    (torch.rand(4, 783), ValueError, "784"),
    (torch.rand(4, 1, 28, 28), ValueError, "784"),
    (torch.rand(100), ValueError, "784"),
    (torch.tensor(1.0), ValueError, "784"),
    (np.zeros((2, 784), dtype=np.float32), TypeError, "torch.Tensor"),
    (torch.zeros(2, 784, dtype=torch.uint8), TypeError, "255"),
])
def test_wrong_input_is_refused_clearly(MyAE, bad, error, words):
    net = MyAE(784, 2)
    with pytest.raises(error, match=words):
        net.encode(bad)
    with pytest.raises(error):
        net(bad)


def test_decode_checks_the_latent_size(MyAE):
    with pytest.raises(ValueError, match=r"\(N, 3\)"):
        MyAE(784, 3).decode(torch.rand(5, 2))


def test_constructor_refuses_empty_layers(MyAE):
    with pytest.raises(ValueError, match="positive"):
        MyAE(0, 2)


def test_train_lowers_the_loss_and_is_repeatable(defs, MyAE):
    x = torch.rand(64, 49) * (torch.rand(1, 49) > 0.5)
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        net = MyAE(49, 2)
        runs.append(defs["train"](net, x, epochs=40, batch_size=16, lr=3e-3, seed=5))
    losses = runs[0]
    assert len(losses) == 40 and losses[-1] < 0.6 * losses[0]
    assert runs[0] == runs[1]
    assert not net.training  # left ready for evaluation


def test_plot_losses_returns_axes(defs):
    ax = defs["plot_losses"]([0.1, 0.05, 0.02])
    assert isinstance(ax, plt.Axes) and len(ax.lines[0].get_xdata()) == 3
    plt.close("all")


def test_plot_latent_scatters_every_code_by_class(defs, MyAE):
    net = MyAE(64, 2)
    x, labels = torch.rand(30, 64), torch.arange(30) % 3
    ax = defs["plot_latent"](net, x, labels)
    assert isinstance(ax, plt.Axes)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 30
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1", "2"]
    z = defs["latent_codes"](net, x).numpy()
    np.testing.assert_allclose(ax.collections[1].get_offsets(), z[labels.numpy() == 1], rtol=1e-6)
    fig, other = plt.subplots()
    assert defs["plot_latent"](net, x, labels.numpy(), ax=other) is other
    plt.close("all")


def test_plot_latent_refuses_what_it_cannot_draw(defs, MyAE):
    with pytest.raises(ValueError, match="embedding_dim=3"):
        defs["plot_latent"](MyAE(64, 3), torch.rand(5, 64), torch.zeros(5))
    with pytest.raises(ValueError, match="4 labels for 5 images"):
        defs["plot_latent"](MyAE(64, 2), torch.rand(5, 64), torch.zeros(4))


def test_plot_reconstructions_shows_each_class_in_and_out(defs, MyAE):
    net = MyAE(49, 2)
    labels = torch.tensor([3, 1, 1, 0, 2, 3, 2])
    x = torch.rand(7, 49)
    x[2] = x[1] * 0.2  # class 1: two digits, reconstructed with different errors
    fig = defs["plot_reconstructions"](net, x, labels)
    assert len(fig.axes) == 8
    assert [a.get_title() for a in fig.axes[:4]] == ["0", "1", "2", "3"]
    errors = ((net(x) - x) ** 2).mean(1).detach()
    typical = 1 if errors[1] < errors[2] else 2  # lower median of two
    top = fig.axes[1].images[0].get_array()
    np.testing.assert_allclose(top, x[typical].view(7, 7).numpy())
    bottom = fig.axes[5].images[0].get_array()
    np.testing.assert_allclose(bottom, net(x[typical]).detach().view(7, 7).numpy(), atol=1e-6)
    np.testing.assert_allclose(fig.axes[0].images[0].get_array(), x[3].view(7, 7).numpy())
    plt.close("all")


def test_image_side_needs_a_square(defs):
    assert defs["image_side"](784) == 28
    with pytest.raises(ValueError, match="square"):
        defs["image_side"](100 + 1)


def test_balanced_indices(defs):
    labels = torch.arange(1000) % 10
    idx = defs["balanced_indices"](labels, 105)
    assert len(idx) == 105 and len(set(idx.tolist())) == 105
    counts = torch.bincount(labels[idx])
    assert counts.max() - counts.min() <= 1
    assert torch.equal(idx, defs["balanced_indices"](labels, 105))
    assert torch.equal(idx, idx.sort().values)
    with pytest.raises(ValueError, match="only 100"):
        defs["balanced_indices"](labels, 2000)


def test_load_mnist_reads_the_shipped_digits_offline(defs, monkeypatch):
    for k, v in OFFLINE.items():
        monkeypatch.setenv(k, v)
    train = defs["load_mnist"](str(ROOT / "files"), train=True)
    small = defs["load_mnist"](str(ROOT / "files"), train=False, img_size=14)
    assert len(train) == 4000 and train[0][0].shape == (1, 28, 28)
    assert small[0][0].shape == (1, 14, 14) and 0 <= small[0][0].min() <= small[0][0].max() <= 1


def test_load_mnist_names_damaged_files_and_the_fix(defs, tmp_path):
    root = tmp_path / "files"
    import shutil
    shutil.copytree(ROOT / "files", root)
    raw = root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    raw.write_bytes(raw.read_bytes()[:-10])
    with pytest.raises(RuntimeError, match="train-labels-idx1-ubyte.*build_mnist.py"):
        defs["load_mnist"](str(root), train=True)
    raw.unlink()
    with pytest.raises(RuntimeError, match="missing or damaged"):
        defs["load_mnist"](str(root), train=True)


def test_load_mnist_without_files_or_network_says_what_to_do(defs, tmp_path, monkeypatch):
    for k, v in OFFLINE.items():
        monkeypatch.setenv(k, v)
    with pytest.raises(RuntimeError, match="Could not load MNIST.*build_mnist.py"):
        defs["load_mnist"](str(tmp_path / "nothing"), train=True)


def test_pca_and_knn_baselines(defs):
    g = torch.Generator().manual_seed(0)
    x = torch.randn(200, 6, generator=g) * torch.tensor([5.0, 3.0, 0.1, 0.1, 0.1, 0.1])
    mean, v = defs["pca_fit"](x, 2)
    xc = (x - mean).numpy()
    _, _, vt = np.linalg.svd(xc, full_matrices=False)
    rec = xc @ vt[:2].T @ vt[:2]
    torch_rec = (x - mean) @ v.T @ v
    np.testing.assert_allclose(torch_rec.numpy(), rec, atol=1e-4)
    z = torch.tensor([[0.0, 0], [0.1, 0], [0, 0.1], [5, 5], [5.1, 5], [5, 5.1]])
    t = torch.tensor([0, 0, 0, 1, 1, 1])
    knn = defs["knn_accuracy"]
    assert knn(z, t, z + 0.01, t, k=3) == 1.0
    assert knn(z, t, z + 0.01, 1 - t, k=3) == 0.0
    # a 1-1 tie among the two nearest goes to the nearer one
    assert knn(torch.tensor([[0.0], [1.0]]), torch.tensor([4, 2]), torch.tensor([[0.9]]),
               torch.tensor([2]), k=2) == 1.0


def test_evaluate_reports_both_models(defs, MyAE):
    torch.manual_seed(0)
    net = MyAE(49, 2)
    x, t = torch.rand(40, 49), torch.arange(40) % 4
    r = defs["evaluate"](net, x[:30], t[:30], x[30:], t[30:])
    assert set(r) == {"ae_train_mse", "ae_test_mse", "ae_knn", "pca_train_mse",
                      "pca_test_mse", "pca_knn"}
    assert all(0 <= v < 1 for v in r.values())
    y = net(x[30:]).detach()
    assert r["ae_test_mse"] == pytest.approx(torch.nn.functional.mse_loss(y, x[30:]).item())


def test_train_hides_pixels_when_asked(defs, MyAE):
    x = torch.rand(64, 49) * (torch.rand(1, 49) > 0.5)
    final = {}
    for mask in (0.0, 0.6):
        torch.manual_seed(3)
        final[mask] = defs["train"](MyAE(49, 2), x, epochs=30, batch_size=16, lr=3e-3,
                                    seed=5, mask=mask)[-1]
    assert final[0.6] > 1.2 * final[0.0]  # hiding pixels makes the task harder


def test_load_mnist_accepts_other_mnist_files_without_a_manifest(defs, tmp_path, monkeypatch):
    """As after torchvision downloaded the full MNIST: no manifest, files of other sizes."""
    import struct
    for k, v in OFFLINE.items():
        monkeypatch.setenv(k, v)
    raw = tmp_path / "MNIST" / "raw"
    raw.mkdir(parents=True)
    src = ROOT / "files" / "MNIST" / "raw"
    for split in ("train", "t10k"):
        images = (src / f"{split}-images-idx3-ubyte").read_bytes()
        labels = (src / f"{split}-labels-idx1-ubyte").read_bytes()
        n = struct.unpack(">I", labels[4:8])[0]
        (raw / f"{split}-images-idx3-ubyte").write_bytes(
            struct.pack(">IIII", 2051, 2 * n, 28, 28) + images[16:] * 2)
        (raw / f"{split}-labels-idx1-ubyte").write_bytes(
            struct.pack(">II", 2049, 2 * n) + labels[8:] * 2)
    assert defs["check_mnist_files"](str(tmp_path)) == []
    test = defs["load_mnist"](str(tmp_path), train=False)
    assert len(test) == 2000
    idx = defs["balanced_indices"](test.targets, 1000)
    x, t = defs["stack_images"](test, idx)
    assert x.shape == (1000, 784) and torch.bincount(t).tolist() == [100] * 10
