"""Train the reference vision model bundle ``models/fashion-cnn``.

Trains a small CNN on Fashion-MNIST with a fixed seed, exports it to ONNX
(opset 13) with a fixed ``embedding`` tensor in front of the two dense layers
that the Java side fine-tunes on-device, checks the exported graph against
PyTorch, and writes the bundle (model.onnx, manifest.yaml, anchor images).

Run from the repository root, see models/training/README.md.

Only needs python3-torch (which brings numpy) and python3-onnx; PNG files are
written by a small built-in encoder, so Pillow is not needed.
"""

import argparse
import datetime
import gzip
import os
import struct
import sys
import time
import zlib

import numpy as np
import onnx
from onnx import numpy_helper
import torch
import torch.nn as nn
import torch.nn.functional as F

LABELS = ["t-shirt", "trouser", "pullover", "dress", "coat",
          "sandal", "shirt", "sneaker", "bag", "ankle-boot"]
NUM_CLASSES = len(LABELS)
DEFAULT_DATA = "/usr/share/datasets/fashion-mnist"  # Debian package dataset-fashion-mnist
VAL_SIZE = 5000
ANCHORS_PER_CLASS = 200
FIXTURE_PER_CLASS = 100
EMBEDDING = "embedding"
INPUT = "image"
OUTPUT = "logits"
OPSET = 13
SCRIPT = "models/training/train_fashion.py"


# --------------------------------------------------------------------------
# data

def read_idx(path):
    with gzip.open(path, "rb") as f:
        raw = f.read()
    magic = struct.unpack(">I", raw[:4])[0]
    ndim = magic & 0xFF
    if (magic >> 8) != 0x08:  # unsigned byte data
        raise ValueError("%s: unexpected IDX magic %#x" % (path, magic))
    dims = struct.unpack(">" + "I" * ndim, raw[4:4 + 4 * ndim])
    data = np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim)
    return data.reshape(dims)


def load_fashion(data_dir):
    def p(name):
        return os.path.join(data_dir, name)
    xtr = read_idx(p("train-images-idx3-ubyte.gz"))
    ytr = read_idx(p("train-labels-idx1-ubyte.gz"))
    xte = read_idx(p("t10k-images-idx3-ubyte.gz"))
    yte = read_idx(p("t10k-labels-idx1-ubyte.gz"))
    assert xtr.shape == (60000, 28, 28) and ytr.shape == (60000,)
    assert xte.shape == (10000, 28, 28) and yte.shape == (10000,)
    return xtr, ytr.astype(np.int64), xte, yte.astype(np.int64)


def select_indices(seed, ytr, yte):
    """All seeded selections, always drawn in the same order from one RNG so
    that every run (with or without training) picks the same images."""
    rng = np.random.RandomState(seed)
    perm = rng.permutation(len(ytr))
    val_idx = np.sort(perm[:VAL_SIZE])
    train_idx = np.sort(perm[VAL_SIZE:])
    # anchors: training split only (never validation or test)
    order = rng.permutation(train_idx)
    anchors = {c: np.sort(order[ytr[order] == c][:ANCHORS_PER_CLASS])
               for c in range(NUM_CLASSES)}
    # fixture: stratified sample of the test split
    order = rng.permutation(len(yte))
    fixture = {c: np.sort(order[yte[order] == c][:FIXTURE_PER_CLASS])
               for c in range(NUM_CLASSES)}
    return train_idx, val_idx, anchors, fixture


def to_tensor(x):
    # the only preprocessing: pixel / 255.0 (manifest: scale 1/255, mean 0, std 1)
    return torch.from_numpy(x.astype(np.float32) / 255.0).unsqueeze(1)


# --------------------------------------------------------------------------
# PNG (8-bit grayscale, no external dependency)

def png_bytes(img):
    img = np.ascontiguousarray(img, dtype=np.uint8)
    h, w = img.shape

    def chunk(tag, data):
        return (struct.pack(">I", len(data)) + tag + data
                + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF))

    raw = b"".join(b"\x00" + img[r].tobytes() for r in range(h))  # filter 0 per row
    return (b"\x89PNG\r\n\x1a\n"
            + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw, 9))
            + chunk(b"IEND", b""))


def write_image_folder(out_dir, images, labels, indices, width):
    """Write images[indices] as out_dir/<label>/<index zero-padded>.png.
    Stale *.png files in the label folders are removed first."""
    for name in LABELS:
        d = os.path.join(out_dir, name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            if f.endswith(".png"):
                os.remove(os.path.join(d, f))
    for i in indices:
        i = int(i)
        path = os.path.join(out_dir, LABELS[labels[i]], "%0*d.png" % (width, i))
        with open(path, "wb") as f:
            f.write(png_bytes(images[i]))
    return len(indices)


# --------------------------------------------------------------------------
# model

class FashionCNN(nn.Module):
    """conv(1->16)+ReLU+pool, conv(16->32)+ReLU+pool, Flatten (embedding,
    32*7*7 = 1568), head: Linear(1568, 128) + ReLU + Linear(128, 10)."""

    def __init__(self, c1=16, c2=32, hidden=128):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        )
        self.flatten = nn.Flatten()
        self.head = nn.Sequential(
            nn.Linear(c2 * 7 * 7, hidden), nn.ReLU(), nn.Linear(hidden, NUM_CLASSES),
        )

    def forward(self, x):
        return self.head(self.flatten(self.features(x)))


def evaluate(model, x, y, batch=1000):
    model.eval()
    loss, correct = 0.0, 0
    with torch.no_grad():
        for s in range(0, len(x), batch):
            out = model(x[s:s + batch])
            loss += F.cross_entropy(out, y[s:s + batch], reduction="sum").item()
            correct += (out.argmax(1) == y[s:s + batch]).sum().item()
    return loss / len(x), correct / len(x)


def train(model, xtr, ytr, xva, yva, args):
    gen = torch.Generator().manual_seed(args.seed)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    best = (float("inf"), None, 0)
    bad = 0
    epochs_run = 0
    for epoch in range(1, args.max_epochs + 1):
        t0 = time.time()
        model.train()
        perm = torch.randperm(len(xtr), generator=gen)
        total = 0.0
        for s in range(0, len(xtr), args.batch_size):
            idx = perm[s:s + args.batch_size]
            opt.zero_grad()
            loss = F.cross_entropy(model(xtr[idx]), ytr[idx])
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        epochs_run = epoch
        vloss, vacc = evaluate(model, xva, yva)
        improved = vloss < best[0]
        if improved:
            best = (vloss, {k: v.detach().clone() for k, v in model.state_dict().items()}, epoch)
            bad = 0
        else:
            bad += 1
        print("epoch %2d  train_loss %.4f  val_loss %.4f  val_acc %.4f  %5.1fs%s"
              % (epoch, total / len(xtr), vloss, vacc, time.time() - t0,
                 "  *" if improved else ""), flush=True)
        if bad >= args.patience:
            print("early stop: no val_loss improvement for %d epochs" % args.patience)
            break
    model.load_state_dict(best[1])
    return best[2], epochs_run


# --------------------------------------------------------------------------
# export

def export_onnx(model, path):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 1, 28, 28), path,
        input_names=[INPUT], output_names=[OUTPUT],
        dynamic_axes={INPUT: {0: "N"}, OUTPUT: {0: "N"}},
        opset_version=OPSET, do_constant_folding=True,
    )
    m = onnx.load(path)
    g = m.graph
    flat = [n for n in g.node if n.op_type == "Flatten"]
    if len(flat) != 1:
        raise RuntimeError("expected exactly one Flatten node, got %d" % len(flat))
    old = flat[0].output[0]
    consumers = [n for n in g.node if old in n.input]
    if len(consumers) != 1 or consumers[0].op_type != "Gemm":
        raise RuntimeError("Flatten output must feed exactly one Gemm")
    for n in g.node:
        for i, t in enumerate(n.input):
            if t == old:
                n.input[i] = EMBEDDING
        for i, t in enumerate(n.output):
            if t == old:
                n.output[i] = EMBEDDING
    for vi in list(g.value_info) + list(g.output):
        if vi.name == old:
            vi.name = EMBEDDING
    m.doc_string = "fashion-cnn: Fashion-MNIST classifier, input pixel/255, see %s" % SCRIPT
    onnx.checker.check_model(m, full_check=True)
    onnx.save(m, path)
    onnx.checker.check_model(path, full_check=True)
    return m


# --- a small numpy interpreter for the ops this graph uses (float64), used
# --- as an independent check because onnxruntime / onnx.reference are not
# --- available from Debian here.

def _attrs(node):
    return {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}


def _conv(x, w, b, a):
    kh, kw = w.shape[2:]
    if a.get("group", 1) != 1 or any(d != 1 for d in a.get("dilations", [1, 1])):
        raise NotImplementedError("Conv group/dilations")
    p = a.get("pads", [0, 0, 0, 0])
    s = a.get("strides", [1, 1])
    x = np.pad(x, ((0, 0), (0, 0), (p[0], p[2]), (p[1], p[3])))
    win = np.lib.stride_tricks.sliding_window_view(x, (kh, kw), axis=(2, 3))
    win = win[:, :, ::s[0], ::s[1]]
    y = np.einsum("nchwij,mcij->nmhw", win, w, optimize=True)
    return y if b is None else y + b[None, :, None, None]


def _maxpool(x, a):
    k = a["kernel_shape"]
    s = a.get("strides", [1, 1])
    if any(a.get("pads", [0, 0, 0, 0])) or a.get("ceil_mode", 0):
        raise NotImplementedError("MaxPool pads/ceil_mode")
    win = np.lib.stride_tricks.sliding_window_view(x, tuple(k), axis=(2, 3))
    return win[:, :, ::s[0], ::s[1]].max(axis=(-2, -1))


def run_numpy(model, feeds):
    env = {i.name: numpy_helper.to_array(i).astype(np.float64)
           for i in model.graph.initializer}
    env.update({k: v.astype(np.float64) for k, v in feeds.items()})
    for n in model.graph.node:
        a = _attrs(n)
        x = [env[t] if t else None for t in n.input]
        op = n.op_type
        if op == "Conv":
            y = _conv(x[0], x[1], x[2] if len(x) > 2 else None, a)
        elif op == "Relu":
            y = np.maximum(x[0], 0)
        elif op == "MaxPool":
            y = _maxpool(x[0], a)
        elif op == "Flatten":
            ax = a.get("axis", 1)
            y = x[0].reshape(int(np.prod(x[0].shape[:ax])), -1)
        elif op == "Gemm":
            A = x[0].T if a.get("transA", 0) else x[0]
            B = x[1].T if a.get("transB", 0) else x[1]
            y = a.get("alpha", 1.0) * (A @ B)
            if len(x) > 2 and x[2] is not None:
                y = y + a.get("beta", 1.0) * x[2]
        elif op == "MatMul":
            y = x[0] @ x[1]
        elif op == "Add":
            y = x[0] + x[1]
        elif op == "Reshape":
            y = x[0].reshape(x[1].astype(np.int64))
        elif op == "Identity":
            y = x[0]
        else:
            raise NotImplementedError("numpy check: op %s" % op)
        env[n.output[0]] = y
    return {o.name: env[o.name] for o in model.graph.output}, env


def fresh_model_from_onnx(m):
    """Build a fresh FashionCNN and fill it from the ONNX initializers, walking
    the Conv/Gemm nodes in graph order."""
    init = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    fresh = FashionCNN()
    layers = [fresh.features[0], fresh.features[3], fresh.head[0], fresh.head[2]]
    nodes = [n for n in m.graph.node if n.op_type in ("Conv", "Gemm")]
    assert len(nodes) == len(layers)
    with torch.no_grad():
        for layer, n in zip(layers, nodes):
            w = init[n.input[1]]
            if n.op_type == "Gemm" and not _attrs(n).get("transB", 0):
                w = w.T
            layer.weight.copy_(torch.from_numpy(np.array(w)))
            layer.bias.copy_(torch.from_numpy(np.array(init[n.input[2]])))
    return fresh.eval()


def verify(model, m, xte, yte, torch_test_acc, n_check):
    model.eval()
    report = {}
    x = xte[:n_check]
    with torch.no_grad():
        ref = model(x).numpy()
        ref_emb = model.flatten(model.features(x)).numpy()
    # 1) numpy interpreter of the exported graph (float64)
    outs, env = run_numpy(m, {INPUT: x.numpy()})
    report["numpy_logits_max_abs_diff"] = float(np.abs(outs[OUTPUT] - ref).max())
    report["numpy_embedding_max_abs_diff"] = float(np.abs(env[EMBEDDING] - ref_emb).max())
    # full test set through the numpy interpreter
    correct = 0
    for s in range(0, len(xte), 500):
        o, _ = run_numpy(m, {INPUT: xte[s:s + 500].numpy()})
        correct += int((o[OUTPUT].argmax(1) == yte[s:s + 500].numpy()).sum())
    report["numpy_test_accuracy"] = correct / len(xte)
    report["torch_test_accuracy"] = torch_test_acc
    # 2) initializers loaded back into a fresh torch model
    fresh = fresh_model_from_onnx(m)
    with torch.no_grad():
        report["reloaded_logits_max_abs_diff"] = float(
            (fresh(x) - torch.from_numpy(ref)).abs().max())
    sd, fsd = model.state_dict(), fresh.state_dict()
    report["head_weights_identical"] = all(torch.equal(sd[k], fsd[k]) for k in sd if k.startswith("head."))
    report["all_weights_identical"] = all(torch.equal(sd[k], fsd[k]) for k in sd)
    return report


def describe_graph(m):
    lines = []
    for n in m.graph.node:
        a = _attrs(n)
        extra = ""
        if n.op_type == "Gemm":
            extra = " transB=%d" % a.get("transB", 0)
        lines.append("  %-8s %-28s %s -> %s%s" % (
            n.op_type, n.name, list(n.input), list(n.output), extra))
    return "\n".join(lines)


MANIFEST = """name: fashion-cnn
version: 1
task: classification
input:
  tensor: image
  shape: [1, 28, 28]
  decode: image-gray
  scale: 0.00392156862745098
  mean: [0.0]
  std: [1.0]
output:
  tensor: logits
  labels: [{labels}]
head:
  embedding: embedding
baseline:
  accuracy: 0.0
  test_samples: 10000
provenance:
  script: {script}
  seed: {seed}
  data: dataset-fashion-mnist
  python_test_accuracy: {acc:.4f}
  epochs: {epochs}
  trained: {date}
"""


# --------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default=DEFAULT_DATA,
                    help="folder with the four Fashion-MNIST *-ubyte.gz files (default: %(default)s)")
    ap.add_argument("--out", default="models/fashion-cnn", help="bundle folder (default: %(default)s)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-epochs", type=int, default=20)
    ap.add_argument("--patience", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--date", default=datetime.date.today().isoformat(),
                    help="'trained' date written to manifest.yaml (default: today)")
    ap.add_argument("--no-train", action="store_true",
                    help="skip training/export; only write the anchor, --export-test and --export-fixture images")
    ap.add_argument("--export-test", metavar="DIR",
                    help="write the 10,000 test images as DIR/<label>/<index>.png")
    ap.add_argument("--export-fixture", metavar="DIR",
                    help="write a stratified 1,000-image test sample (100/class) as DIR/<label>/<index>.png")
    ap.add_argument("--min-accuracy", type=float, default=0.89,
                    help="fail if the python test accuracy is below this (default: %(default)s)")
    args = ap.parse_args(argv)

    t_start = time.time()
    torch.manual_seed(args.seed)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(args.threads)

    xtr_raw, ytr_raw, xte_raw, yte_raw = load_fashion(args.data)
    train_idx, val_idx, anchors, fixture = select_indices(args.seed, ytr_raw, yte_raw)
    assert not set(train_idx) & set(val_idx)

    anchor_idx = np.concatenate([anchors[c] for c in range(NUM_CLASSES)])
    assert not set(anchor_idx) & set(val_idx)
    n = write_image_folder(os.path.join(args.out, "anchor"), xtr_raw, ytr_raw, anchor_idx, 5)
    print("wrote %d anchor images to %s" % (n, os.path.join(args.out, "anchor")))
    if args.export_test:
        n = write_image_folder(args.export_test, xte_raw, yte_raw, range(len(yte_raw)), 4)
        print("wrote %d test images to %s" % (n, args.export_test))
    if args.export_fixture:
        idx = np.concatenate([fixture[c] for c in range(NUM_CLASSES)])
        n = write_image_folder(args.export_fixture, xte_raw, yte_raw, idx, 4)
        print("wrote %d fixture images to %s" % (n, args.export_fixture))
    if args.no_train:
        return 0

    xtr, ytr = to_tensor(xtr_raw[train_idx]), torch.from_numpy(ytr_raw[train_idx])
    xva, yva = to_tensor(xtr_raw[val_idx]), torch.from_numpy(ytr_raw[val_idx])
    xte, yte = to_tensor(xte_raw), torch.from_numpy(yte_raw)
    print("train %d  val %d  test %d" % (len(xtr), len(xva), len(xte)))

    model = FashionCNN()
    n_params = sum(p.numel() for p in model.parameters())
    print(model)
    print("parameters: %d" % n_params)

    t_train = time.time()
    best_epoch, epochs_run = train(model, xtr, ytr, xva, yva, args)
    train_time = time.time() - t_train
    test_loss, test_acc = evaluate(model, xte, yte)
    print("best epoch %d of %d run; training %.0fs" % (best_epoch, epochs_run, train_time))
    print("test_loss %.4f  test_accuracy %.4f" % (test_loss, test_acc))

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    m = export_onnx(model, onnx_path)
    print("exported %s (%d bytes), graph:" % (onnx_path, os.path.getsize(onnx_path)))
    print(describe_graph(m))

    rep = verify(model, m, xte, yte, test_acc, n_check=256)
    for k, v in rep.items():
        print("check %s: %s" % (k, v))
    tol = 1e-4
    ok = (rep["numpy_logits_max_abs_diff"] < tol and rep["reloaded_logits_max_abs_diff"] == 0.0
          and rep["all_weights_identical"] and abs(rep["numpy_test_accuracy"] - test_acc) <= 0.001)
    if not ok:
        print("ONNX-vs-PyTorch check FAILED", file=sys.stderr)
        return 1

    with open(os.path.join(args.out, "manifest.yaml"), "w") as f:
        f.write(MANIFEST.format(labels=", ".join(LABELS), script=SCRIPT, seed=args.seed,
                                acc=test_acc, epochs=best_epoch, date=args.date))
    print("wrote %s" % os.path.join(args.out, "manifest.yaml"))
    print("total wall time %.0fs" % (time.time() - t_start))
    if test_acc < args.min_accuracy:
        print("test accuracy %.4f below %.2f" % (test_acc, args.min_accuracy), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
