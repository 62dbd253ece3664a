"""The autotester's view: only the import cell and the definition cells, called with our inputs."""
import shutil
import struct

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch

from conftest import ROOT


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


@pytest.mark.parametrize("shape, code_shape", [
    ((6, 784), (6, 2)),  # rows
    ((6, 28, 28), (6, 2)),  # images
    ((6, 1, 28, 28), (6, 2)),  # a DataLoader batch
    ((1, 1, 28, 28), (1, 2)),
    ((784,), (2,)),  # one row
    ((28, 28), (2,)),  # one image
    ((0, 784), (0, 2)),  # no images at all
])
def test_any_reasonable_image_shape(MyAE, shape, code_shape):
    torch.manual_seed(0)
    net = MyAE(784, 2)
    x = torch.rand(shape)
    h = net.encode(x)
    assert h.shape == code_shape
    rows = len(x) if len(code_shape) == 2 else 1
    y = net.decode(h)
    assert y.shape == ((rows, 784) if len(code_shape) == 2 else (784,))
    assert net(x).shape == x.shape
    flat = x.reshape(-1, 784)
    if len(flat):
        torch.testing.assert_close(net.encode(flat).reshape(code_shape), h)
        torch.testing.assert_close(net(flat).reshape(shape), net(x))


def test_non_square_images_and_numpy_input(MyAE):
    net = MyAE(12, 3)
    x = np.random.default_rng(0).random((4, 3, 4))  # float64, 3x4 images
    assert net.encode(x).shape == (4, 3) and net.encode(x).dtype == torch.float32
    assert net(x).shape == (4, 3, 4)
    assert net.encode(x[0]).shape == (3,)
    assert net.decode(np.zeros(3)).shape == (12,)


@pytest.mark.parametrize("bad, error, words", [
    (torch.rand(4, 783), ValueError, r"\(N, 784\).*\(N, 1, 28, 28\).*got shape \(4, 783\)"),
    (torch.rand(4, 3, 28, 28), ValueError, "got shape"),  # three colour channels
    (torch.rand(4, 28, 27), ValueError, "784 pixels"),
    (torch.rand(100), ValueError, "784"),
    (torch.tensor(1.0), ValueError, "784"),
    (np.zeros((2, 784), dtype=np.uint8), TypeError, "255"),
    (torch.zeros(2, 784, dtype=torch.uint8), TypeError, "255"),
])
def test_wrong_input_is_refused_clearly(MyAE, bad, error, words):
    net = MyAE(784, 2)
    with pytest.raises(error, match=words):
        net.encode(bad)
    with pytest.raises(error):
        net(bad)


def test_shape_message_for_non_square_sizes(MyAE):
    with pytest.raises(ValueError, match=r"\(N, 1, H, W\)"):
        MyAE(12, 2).encode(torch.rand(2, 5))


def test_follows_the_network_to_its_device(MyAE):
    """Nothing is tied to the CPU: a network on another device (here PyTorch's shape-only
    'meta' device) takes CPU input and computes on its own device."""
    net = MyAE(784, 2).to("meta")
    assert net.encode(torch.rand(3, 1, 28, 28)).device.type == "meta"
    assert net.decode(torch.zeros(3, 2)).device.type == "meta"


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


def test_load_mnist_reads_the_shipped_digits_offline(defs, offline):
    train = defs["load_mnist"](str(ROOT / "files"), train=True)
    small = defs["load_mnist"](str(ROOT / "files"), train=False, img_size=14)
    assert len(train) == 4000 and train[0][0].shape == (1, 28, 28)
    assert small[0][0].shape == (1, 14, 14) and 0 <= small[0][0].min() <= small[0][0].max() <= 1


def test_the_shipped_files_pass_the_checks(defs):
    assert defs["check_mnist_files"](ROOT / "files") == []


def test_load_mnist_names_damaged_files_and_the_fix(defs, tmp_path):
    root = tmp_path / "files"
    shutil.copytree(ROOT / "files", root)
    raw = root / "MNIST" / "raw" / "train-labels-idx1-ubyte"
    raw.write_bytes(raw.read_bytes()[:-10])
    with pytest.raises(RuntimeError) as err:
        defs["load_mnist"](str(root), train=True)
    message = str(err.value)
    assert "train-labels-idx1-ubyte does not match" in message
    assert "holds 3,998 bytes, its header promises 4,008" in message
    assert "fresh copy" in message and "downloads MNIST" in message
    raw.unlink()
    with pytest.raises(RuntimeError, match="train-labels-idx1-ubyte is missing"):
        defs["load_mnist"](str(root), train=True)


def test_a_truncated_file_without_a_manifest_is_named(defs, tmp_path):
    root = tmp_path / "files"
    shutil.copytree(ROOT / "files", root)
    (root / "SHA256SUMS").unlink()
    images = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    images.write_bytes(images.read_bytes()[:5000])
    problems = defs["check_mnist_files"](root)
    assert problems == [f"{images} is damaged: it holds 5,000 bytes, its header promises "
                        "784,016"]
    with pytest.raises(RuntimeError, match="t10k-images-idx3-ubyte is damaged"):
        defs["load_mnist"](str(root), train=False)
    images.write_bytes(b"\x00\x00")  # not even a header
    assert "is damaged" in defs["check_mnist_files"](root)[0]


def test_without_files_or_network_it_says_what_to_do_and_leaves_nothing(
        defs, tmp_path, monkeypatch, offline):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(RuntimeError) as err:
        defs["load_mnist"]("files", train=True)
    message = str(err.value)
    first, fix = message.split("\n")
    assert f"there is no folder files/ in {tmp_path}" in first
    assert "downloading them failed (RuntimeError: Error downloading" in first
    assert "urlopen error" in first or "Errno" in first  # the cause, in the same line
    assert "next to the notebook" in fix and "internet access" in fix
    assert "git checkout" not in message and "tools/" not in message  # fixes for a grader
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert list(tmp_path.iterdir()) == []  # no empty folders left behind


def test_a_folder_without_the_digits_is_named_and_kept(defs, tmp_path, offline):
    root = tmp_path / "files"
    (root / "MNIST" / "raw").mkdir(parents=True)
    (root / "mine.txt").write_text("keep me")
    with pytest.raises(RuntimeError, match="the folder .*files/ holds no complete MNIST"):
        defs["load_mnist"](root, train=False)
    assert (root / "mine.txt").read_text() == "keep me"
    assert (root / "MNIST" / "raw").is_dir()  # it was there before


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


def test_load_mnist_accepts_other_mnist_files_without_a_manifest(defs, tmp_path, offline):
    """As after torchvision downloaded the full MNIST: no manifest, files of other sizes."""
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


def test_helpers_take_numpy_arrays_and_images(defs, MyAE):
    torch.manual_seed(0)
    net = MyAE(49, 2)
    images = np.random.default_rng(0).random((12, 1, 7, 7)).astype(np.float32)
    labels = np.arange(12) % 3
    rows = torch.as_tensor(images).reshape(12, 49)
    z = defs["latent_codes"](net, images)
    torch.testing.assert_close(z, defs["latent_codes"](net, rows))
    ax = defs["plot_latent"](net, images, labels)
    assert sum(len(c.get_offsets()) for c in ax.collections) == 12
    fig = defs["plot_reconstructions"](net, images, labels)
    assert len(fig.axes) == 6
    assert defs["decode_points"](net, z.numpy()).shape == (12, 49)
    assert defs["decode_points"](net, [(0.0, 1.0)]).shape == (1, 49)
    assert len(defs["plot_latent_map"](net, images, labels, n=4).axes) == 1
    assert len(defs["plot_path"](net, np.zeros(2), np.ones(2), steps=3).axes) == 3
    ax = defs["star_points"](plt.subplots()[1], z[:2], ["A", "B"])
    assert [t.get_text() for t in ax.texts] == ["A", "B"]
    r = defs["evaluate"](net, images[:8], labels[:8], images[8:], labels[8:], k=3)
    assert r == defs["evaluate"](net, rows[:8], torch.as_tensor(labels[:8]), rows[8:],
                                 torch.as_tensor(labels[8:]), k=3)
    picks = defs["pick_latent_points"](z.numpy(), labels, k=3)
    assert picks["class"] in (0, 1, 2)
    losses = defs["train"](net, images, epochs=2, batch_size=4)
    assert len(losses) == 2
    plt.close("all")


def test_neighbours_are_the_nearest_other_points(defs):
    z = np.array([[0.0, 0], [1, 0], [3, 0], [7, 0]])
    nbrs, kdist = defs["neighbours"](z, 2)
    assert [sorted(r) for r in nbrs.tolist()] == [[1, 2], [0, 2], [0, 1], [1, 2]]
    np.testing.assert_allclose(kdist, [3, 2, 3, 6])


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.mark.parametrize("files, own, quota", [
    ({"cpu.max": "150000 100000\n"}, "0::/\n", 1.5),  # cgroup v2, as in a container
    ({"cpu.max": "max 100000\n"}, "0::/\n", None),
    ({"a/cpu.max": "100000 100000\n", "a/b/cpu.max": "max 100000\n"}, "0::/a/b\n", 1.0),
    ({"cpu/cpu.cfs_quota_us": "200000\n", "cpu/cpu.cfs_period_us": "100000\n"},
     "12:memory:/\n4:cpu,cpuacct:/\n", 2.0),  # cgroup v1
    ({"cpu/cpu.cfs_quota_us": "-1\n", "cpu/cpu.cfs_period_us": "100000\n"},
     "4:cpu,cpuacct:/\n", None),
    ({}, "0::/\n", None),
])
def test_cpu_quota_reads_cgroups(defs, tmp_path, files, own, quota):
    for name, text in files.items():
        write(tmp_path / "cgroup" / name, text)
    write(tmp_path / "self-cgroup", own)
    assert defs["cpu_quota"](tmp_path / "cgroup", tmp_path / "self-cgroup") == quota


def test_cpu_quota_off_linux(defs, tmp_path):
    assert defs["cpu_quota"](tmp_path, tmp_path / "no-such-file") is None


def test_idle_cpus_from_proc_stat(defs, tmp_path, monkeypatch):
    stat = tmp_path / "stat"
    samples = iter([
        "cpu  100 0 100 1000 0 0 0 0 0 0\ncpu0 x\ncpu1 x\nintr 1\n",
        "cpu  150 0 150 1100 0 0 0 0 0 0\ncpu0 x\ncpu1 x\nintr 1\n",  # half idle
    ])
    real_sleep = defs["time"].sleep
    monkeypatch.setattr(defs["time"], "sleep", lambda s: write(stat, next(samples)))
    write(stat, next(samples))
    assert defs["idle_cpus"](0, stat) == pytest.approx(1.0)  # 2 CPUs x 100 / 200 ticks
    monkeypatch.setattr(defs["time"], "sleep", real_sleep)
    assert defs["idle_cpus"](0, tmp_path / "missing") is None
    idle = defs["idle_cpus"](0.05)
    assert idle is None or 0 <= idle <= defs["os"].cpu_count() + 0.5


@pytest.mark.parametrize("usable, quota, idle, threads", [
    (2, None, 2.0, 2), (2, None, 0.1, 1), (2, None, 1.2, 1), (16, None, 15.0, 4),
    (16, 1.5, 15.0, 1), (8, 3.0, None, 3), (1, None, 1.0, 1),
])
def test_cpu_threads_fit_the_machine(defs, monkeypatch, usable, quota, idle, threads):
    os_ = defs["os"]
    monkeypatch.setattr(os_, "sched_getaffinity", lambda pid: set(range(usable)),
                        raising=False)
    monkeypatch.setitem(defs, "cpu_quota", lambda: quota)
    monkeypatch.setitem(defs, "idle_cpus", lambda: idle)
    n, why = defs["cpu_threads"]()
    assert n == threads
    assert f"{usable} CPUs usable" in why
    assert ("quota" in why) == (quota is not None)
    if quota is not None:
        assert f"a CPU quota of {quota:g}" in why


def test_train_falls_back_to_one_thread_when_epochs_slow_down(defs, MyAE, monkeypatch):
    clock = iter(np.cumsum([0.0] + [1.0, 1.0] * 3 + [10.0, 10.0] * 50))
    monkeypatch.setattr(defs["time"], "perf_counter", lambda: float(next(clock)))
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        defs["train"](MyAE(16, 2), torch.rand(8, 16), epochs=5, batch_size=8)
        assert torch.get_num_threads() == 1
    finally:
        torch.set_num_threads(before)


def test_no_definition_ties_itself_to_the_cpu(nb):
    """Definitions follow the data or the network to their device: none names 'cpu' as a
    device or builds one. (Moving results to the CPU for plotting, .cpu(), is fine.)"""
    import ast

    import nbtools
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
