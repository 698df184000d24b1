"""Write held-out Fashion-MNIST images for the drift reference of ``models/fashion-cnn``.

The images are the first 200 per class of the validation split that
train_fashion.py holds out of training (5,000 of the 60,000 training images,
drawn by the same seeded permutation); never the training images (the anchors
are some of those) and never the test split (the tests' clean replays come from
it). Needs only numpy, so it runs where python3-torch is not installed.

Run from the repository root, see models/training/README.md.
"""

import argparse
import os
import sys

import numpy as np

# As in train_fashion.py: the validation split is the first VAL_SIZE of the
# first permutation drawn from RandomState(seed).
VAL_SIZE = 5000
PER_CLASS = 200
LABELS = ["t-shirt", "trouser", "pullover", "dress", "coat",
          "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"



def read_idx(path):
    import gzip
    import struct
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    dims = magic & 0xFF
    shape = struct.unpack(">" + "I" * dims, raw[4:4 + 4 * dims])
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def png_bytes(img):
    import struct
    import zlib
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape
    raw = b"".join(b"\x00" + img[y].tobytes() for y in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA, help="folder with the *-ubyte.gz files (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--anchors", default="models/fashion-cnn/anchor",
                    help="the bundle's anchors, checked to be disjoint from what is written (default: %(default)s)")
    ap.add_argument("--out", required=True, help="folder to write DIR/<label>/<index>.png into")
    args = ap.parse_args(argv)
    x = read_idx(os.path.join(args.data, "train-images-idx3-ubyte.gz"))
    y = read_idx(os.path.join(args.data, "train-labels-idx1-ubyte.gz")).astype(np.int64)
    perm = np.random.RandomState(args.seed).permutation(len(y))
    val_idx = np.sort(perm[:VAL_SIZE])
    anchors = set()
    if os.path.isdir(args.anchors):
        for label in os.listdir(args.anchors):
            anchors.update(int(f.split(".")[0]) for f in os.listdir(os.path.join(args.anchors, label)))
    n = 0
    for c, label in enumerate(LABELS):
        folder = os.path.join(args.out, label)
        os.makedirs(folder, exist_ok=True)
        for i in val_idx[y[val_idx] == c][:PER_CLASS]:
            assert i not in anchors, "validation image %d is an anchor: the split does not match" % i
            with open(os.path.join(folder, "%05d.png" % i), "wb") as f:
                f.write(png_bytes(x[i]))
            n += 1
    print("wrote %d validation images to %s (none of the %d anchors)" % (n, args.out, len(anchors)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
