#!/usr/bin/env python3
"""Train models/bridge-vibration: healthy vs damaged bridge-deck accelerometer windows.

The data comes from the project's own simulator (`plateau simulate vibration`), so the model
sees exactly the windows the Java side generates and reads. Everything after framing happens
inside the ONNX graph (removing gravity and offsets, scaling by the window's RMS), so the device
feeds raw m/s2 values with mean 0 and std 1 in the manifest.

Sites: the model trains on the TRAIN decks, stops early on the VAL decks, which it never trains
on, and is scored on the TEST decks, drawn from yet another site seed. Anchor windows are fresh
windows of the training decks. Run from the repository root after `mvn -q package -DskipTests`:

    /usr/bin/python3 models/training/train_bridge.py

Needs Debian's python3-torch, python3-onnx and python3-numpy; about five minutes on two cores.
Exits non-zero if the exported graph disagrees with PyTorch or the held-out ROC AUC is below
--min-auc.
"""

import argparse
import copy
import datetime
import glob
import os
import shlex
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import numpy_helper
import torch
from torch import nn

SEED = 0
SAMPLE_RATE_HZ = 50
LENGTH = 256
CHANNELS = ["ax", "ay", "az"]
LABELS = ["healthy", "damaged"]

# (name, windows, window seed, site seed, sites). Site seeds 11, 12 and 13 give disjoint decks.
TRAIN = ("train", 24000, 1, 11, 480)
VAL = ("val", 1600, 2, 12, 8)
TEST = ("test", 2400, 3, 13, 8)
# Anchor: fresh windows of the first 48 training decks (the same site seed draws the same decks
# in the same order), 4 per deck, half of them damaged.
ANCHOR = ("anchor", 192, 4, 11, 48)


def simulate_args(windows, seed, site_seed, sites):
    return ["simulate", "vibration", "--windows", str(windows), "--seed", str(seed),
            "--site-seed", str(site_seed), "--sites", str(sites)]


def simulate(plateau, out, spec):
    _, windows, seed, site_seed, sites = spec
    cmd = shlex.split(plateau) + simulate_args(windows, seed, site_seed, sites) + ["--out", out]
    print("$", " ".join(cmd), flush=True)
    subprocess.run(cmd, check=True)


def load(directory, sites):
    """Windows as float32 [N, 3, L] (channel-major, like the ONNX input), labels and site index."""
    xs, ys, site = [], [], []
    for label_index, label in enumerate(LABELS):
        for path in sorted(glob.glob(os.path.join(directory, label, "*.csv"))):
            with open(path) as f:
                header = f.readline().strip()
            if header != ",".join(CHANNELS):
                raise ValueError(f"{path}: header {header!r}, expected {','.join(CHANNELS)!r}")
            rows = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
            if rows.shape != (LENGTH, len(CHANNELS)):
                raise ValueError(f"{path}: shape {rows.shape}, expected {(LENGTH, len(CHANNELS))}")
            xs.append(rows.T)
            ys.append(label_index)
            # The file number is the window index; windows go round-robin over the sites.
            site.append(int(os.path.basename(path)[:-4]) % sites)
    return np.stack(xs), np.array(ys, dtype=np.int64), np.array(site)


class WindowScale(nn.Module):
    """Removes each channel's mean (gravity, mounting tilt, offsets) and divides by the window's
    RMS over all channels. One scale for all axes keeps the ratios between axes, which is where
    the mode shapes, and so a good part of the damage signature, show."""

    def forward(self, x):
        x = x - x.mean(dim=2, keepdim=True)
        return x / torch.sqrt((x * x).mean(dim=(1, 2), keepdim=True) + 1e-8)


def block(cin, cout, k, pool):
    layers = [nn.Conv1d(cin, cout, k, padding=k // 2), nn.BatchNorm1d(cout), nn.ReLU()]
    if pool:
        layers.append(nn.MaxPool1d(2))
    return layers


class Spectrum(nn.Module):
    """Per frequency bin (0.2 to 19.5 Hz, 0.2 Hz apart) of the Hann-windowed window: each axis's
    power as a log share of the window's, and the cross-spectra of ay and ax with az (real and
    imaginary part) over the bin's power. Damage shows as a mode that moves against the others
    (temperature moves them all alike) and as the first bending mode appearing, with a sign, in
    ay: a deck's own healthy value of both is what calibration learns, and a convolution over
    time alone resolves neither to the 0.2 Hz a 5 s window allows. The DFT is two MatMuls with
    fixed matrices, so the graph stays plain ONNX."""

    BINS = 100

    def __init__(self):
        super().__init__()
        n = np.arange(LENGTH)[:, None]
        k = np.arange(1, self.BINS + 1)[None, :]
        hann = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(LENGTH) / LENGTH)
        angle = 2 * np.pi * n * k / LENGTH
        self.register_buffer("cos", torch.tensor(hann[:, None] * np.cos(angle), dtype=torch.float32))
        self.register_buffer("sin", torch.tensor(-hann[:, None] * np.sin(angle), dtype=torch.float32))

    def forward(self, x):
        re = torch.matmul(x, self.cos)
        im = torch.matmul(x, self.sin)
        rx, ry, rz = re[:, 0:1], re[:, 1:2], re[:, 2:3]
        ix, iy, iz = im[:, 0:1], im[:, 1:2], im[:, 2:3]
        px = rx * rx + ix * ix
        py = ry * ry + iy * iy
        pz = rz * rz + iz * iz
        total = px + py + pz + 1e-6
        window = total.sum(dim=2, keepdim=True)
        return torch.cat([torch.log(px / window + 1e-6), torch.log(py / window + 1e-6),
                          torch.log(pz / window + 1e-6),
                          (ry * rz + iy * iz) / total, (iy * rz - ry * iz) / total,
                          (rx * rz + ix * iz) / total, (ix * rz - rx * iz) / total], dim=1)


class BridgeNet(nn.Module):
    EMBEDDING = 128
    HIDDEN = 32

    def __init__(self):
        super().__init__()
        self.scale = WindowScale()
        # Over time: the shape of the response to the vehicle that triggered the window.
        self.time = nn.Sequential(
            *block(3, 16, 9, True), *block(16, 32, 7, True), *block(32, 64, 5, True),
            *block(64, 64, 5, False), nn.AdaptiveAvgPool1d(1), nn.Flatten())
        # Over frequency: where the modes sit and how the axes move together in each of them.
        self.freq = nn.Sequential(
            Spectrum(), *block(7, 32, 5, False), *block(32, 64, 5, True), *block(64, 64, 5, True),
            *block(64, 64, 3, False), nn.AdaptiveAvgPool1d(1), nn.Flatten())
        self.drop = nn.Dropout(0.2)
        # The on-device head: two dense layers, exported as Gemm, Relu, Gemm.
        self.head = nn.Sequential(
            nn.Linear(self.EMBEDDING, self.HIDDEN), nn.ReLU(), nn.Linear(self.HIDDEN, 2))

    def backbone(self, x):
        return self.drop(torch.cat([self.time(x), self.freq(x)], dim=1))

    def forward(self, x):
        return self.head(self.backbone(self.scale(x)))


def logits_of(model, x, batch=512):
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(x), batch):
            out.append(model(torch.from_numpy(x[i:i + batch])))
    return torch.cat(out).numpy()


def softmax_damaged(logits):
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e[:, 1] / e.sum(axis=1)


def roc_auc(y, score):
    """Mann-Whitney U with ties counted half."""
    order = np.argsort(score, kind="mergesort")
    ranks = np.empty(len(score))
    sorted_scores = score[order]
    i = 0
    while i < len(score):
        j = i
        while j + 1 < len(score) and sorted_scores[j + 1] == sorted_scores[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2.0 + 1.0
        i = j + 1
    pos = y == 1
    n_pos, n_neg = pos.sum(), (~pos).sum()
    return (ranks[pos].sum() - n_pos * (n_pos + 1) / 2.0) / (n_pos * n_neg)


def metrics(y, logits):
    score = softmax_damaged(logits)
    predicted = logits.argmax(axis=1)
    return {
        "roc_auc": roc_auc(y, score),
        "accuracy": float((predicted == y).mean()),
        "false_alarm_rate": float((predicted[y == 0] == 1).mean()),
        "detection_rate": float((predicted[y == 1] == 1).mean()),
    }


def train_epoch(model, opt, loss_fn, xt, yt, gen):
    """One epoch of shuffled batches of 64 under the head's cross-entropy; (summed loss, windows)."""
    perm = torch.randperm(len(xt), generator=gen)
    total = 0.0
    for i in range(0, len(xt), 64):
        idx = perm[i:i + 64]
        # Mirror images of a deck are decks too: reversing the span flips ax, moving the sensor
        # (and the damage) to the other side of the centreline flips ay.
        flips = torch.ones(len(idx), 3, 1)
        flips[:, :2, 0] = torch.randint(0, 2, (len(idx), 2), generator=gen) * 2.0 - 1.0
        opt.zero_grad()
        loss = loss_fn(model(xt[idx] * flips), yt[idx])
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
    return total, len(xt)


def train(model, xtr, ytr, xval, yval, max_epochs, patience):
    gen = torch.Generator().manual_seed(SEED)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    best = (float("inf"), None, -1)
    for epoch in range(max_epochs):
        model.train()
        total, seen = train_epoch(model, opt, loss_fn, xt, yt, gen)
        val_logits = logits_of(model, xval)
        val_loss = loss_fn(torch.from_numpy(val_logits), torch.from_numpy(yval)).item()
        m = metrics(yval, val_logits)
        sched.step(val_loss)
        print(f"epoch {epoch:2d} train loss {total / seen:.4f} val loss {val_loss:.4f} "
              f"val auc {m['roc_auc']:.4f} val acc {m['accuracy']:.4f}", flush=True)
        if val_loss < best[0]:
            best = (val_loss, {k: v.clone() for k, v in model.state_dict().items()}, epoch)
        elif epoch - best[2] >= patience:
            print(f"early stop: no better validation loss since epoch {best[2]}")
            break
    model.load_state_dict(best[1])
    return best[2]


def export(model, path):
    model.eval()
    torch.onnx.export(
        model, torch.zeros(1, 3, LENGTH), path, opset_version=13,
        input_names=["window"], output_names=["logits"],
        dynamic_axes={"window": {0: "N"}, "logits": {0: "N"}}, do_constant_folding=True)
    m = onnx.load(path)
    graph = m.graph
    gemms = [n for n in graph.node if n.op_type == "Gemm"]
    if len(gemms) != 2:
        raise RuntimeError(f"expected the two head Gemm nodes, found {[n.name for n in gemms]}")
    old = gemms[0].input[0]
    # The exporter names tensors after torch internals; the manifest names the head's input.
    for node in graph.node:
        node.input[:] = ["embedding" if t == old else t for t in node.input]
        node.output[:] = ["embedding" if t == old else t for t in node.output]
    for vi in graph.value_info:
        if vi.name == old:
            vi.name = "embedding"
    m.producer_name = "plateau train_bridge.py"
    onnx.checker.check_model(m, full_check=True)
    m = onnx.shape_inference.infer_shapes(m)
    onnx.save(m, path)
    return m


# -- A small reference evaluator of the ONNX graph in numpy, node by node, following the ONNX
# operator definitions. onnx 1.12 has no onnx.reference and onnxruntime is not packaged in
# Debian, so this is how the exported file (not the torch module) is checked.

def _conv(x, w, b, attrs):
    pads = attrs.get("pads", [0, 0])
    strides = attrs.get("strides", [1])
    dil = attrs.get("dilations", [1])
    if attrs.get("group", 1) != 1 or strides != [1] or dil != [1]:
        raise NotImplementedError(f"Conv attributes {attrs}")
    x = np.pad(x, ((0, 0), (0, 0), (pads[0], pads[1])))
    k = w.shape[2]
    length = x.shape[2] - k + 1
    cols = np.stack([x[:, :, i:i + length] for i in range(k)], axis=3)  # N, C, L, K
    y = np.einsum("nclk,ock->nol", cols, w)
    return y + (b[None, :, None] if b is not None else 0)


def _maxpool(x, attrs):
    k = attrs["kernel_shape"][0]
    s = attrs.get("strides", [k])[0]
    if attrs.get("pads", [0, 0]) != [0, 0] or s != k:
        raise NotImplementedError(f"MaxPool attributes {attrs}")
    n = x.shape[2] // k
    return x[:, :, :n * k].reshape(x.shape[0], x.shape[1], n, k).max(axis=3)


def run_onnx(model, feed):
    env = {k: np.asarray(v, dtype=np.float64) for k, v in feed.items()}
    for init in model.graph.initializer:
        env[init.name] = numpy_helper.to_array(init).astype(np.float64)
    for node in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        ins = [env[i] if i else None for i in node.input]
        op = node.op_type
        if op == "Constant":
            out = numpy_helper.to_array(attrs["value"])
        elif op == "Conv":
            out = _conv(ins[0], ins[1], ins[2] if len(ins) > 2 else None, attrs)
        elif op == "BatchNormalization":
            x, g, b, mean, var = ins
            shape = (1, -1) + (1,) * (x.ndim - 2)
            out = (x - mean.reshape(shape)) / np.sqrt(var.reshape(shape) + attrs.get("epsilon", 1e-5)) \
                * g.reshape(shape) + b.reshape(shape)
        elif op == "Relu":
            out = np.maximum(ins[0], 0)
        elif op == "MaxPool":
            out = _maxpool(ins[0], attrs)
        elif op == "GlobalAveragePool":
            out = ins[0].mean(axis=tuple(range(2, ins[0].ndim)), keepdims=True)
        elif op == "ReduceMean":
            out = ins[0].mean(axis=tuple(attrs["axes"]), keepdims=bool(attrs.get("keepdims", 1)))
        elif op == "Flatten":
            axis = attrs.get("axis", 1)
            out = ins[0].reshape(int(np.prod(ins[0].shape[:axis])), -1)
        elif op == "Gemm":
            a, b = ins[0], ins[1]
            a = a.T if attrs.get("transA", 0) else a
            b = b.T if attrs.get("transB", 0) else b
            out = attrs.get("alpha", 1.0) * a @ b
            if len(ins) > 2:
                out = out + attrs.get("beta", 1.0) * ins[2]
        elif op in ("Sub", "Mul", "Div", "Add", "Pow"):
            f = {"Sub": np.subtract, "Mul": np.multiply, "Div": np.divide, "Add": np.add, "Pow": np.power}[op]
            out = f(ins[0], ins[1])
        elif op == "MatMul":
            out = np.matmul(ins[0], ins[1])
        elif op == "Log":
            out = np.log(ins[0])
        elif op == "ReduceSum":
            axes = tuple(int(a) for a in ins[1]) if len(ins) > 1 else tuple(attrs["axes"])
            out = ins[0].sum(axis=axes, keepdims=bool(attrs.get("keepdims", 1)))
        elif op == "Slice":
            starts, ends = ins[1].astype(int), ins[2].astype(int)
            axes = ins[3].astype(int) if len(ins) > 3 else range(len(starts))
            if len(ins) > 4 and np.any(ins[4] != 1):
                raise NotImplementedError(f"Slice steps {ins[4]}")
            index = [slice(None)] * ins[0].ndim
            for axis, start, end in zip(axes, starts, ends):
                index[axis] = slice(start, end)
            out = ins[0][tuple(index)]
        elif op == "Concat":
            out = np.concatenate(ins, axis=attrs["axis"])
        elif op == "Sqrt":
            out = np.sqrt(ins[0])
        else:
            raise NotImplementedError(f"op {op} ({node.name})")
        env[node.output[0]] = np.asarray(out, dtype=np.float64)
    return {o.name: env[o.name] for o in model.graph.output}, env


def verify(model, exported, sample):
    """Runs the exported graph in the float64 reference evaluator and compares it with the PyTorch
    model run in float64 (same weights: any difference is the graph's) and in float32 (what the
    model was trained in: the difference is rounding)."""
    onnx_out, env = run_onnx(exported, {"window": sample})
    exact = copy.deepcopy(model).double().eval()
    x = torch.from_numpy(sample)
    with torch.no_grad():
        logits64 = exact(x.double()).numpy()
        embedding64 = exact.backbone(exact.scale(x.double())).numpy()
        logits32 = model(x).numpy()
    diff64 = max(float(np.abs(onnx_out["logits"] - logits64).max()),
                 float(np.abs(env["embedding"] - embedding64).max()))
    diff32 = float(np.abs(onnx_out["logits"] - logits32).max())
    print(f"ONNX graph (numpy float64 reference evaluator) vs PyTorch on {len(sample)} held-out windows: "
          f"max |diff| {diff64:.2e} against float64 PyTorch (logits and embedding), "
          f"{diff32:.2e} against float32 PyTorch logits (largest |logit| {np.abs(logits64).max():.2f})")
    if diff64 > 1e-5 or diff32 > 1e-3 * max(1.0, float(np.abs(logits64).max())):
        raise RuntimeError("exported graph disagrees with the PyTorch model")


def describe(model):
    lines = []
    for node in model.graph.node:
        attrs = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
        extra = f" transB={attrs.get('transB', 0)}" if node.op_type == "Gemm" else ""
        lines.append(f"  {node.op_type:20s} {node.name:28s} {list(node.input)} -> {list(node.output)}{extra}")
    return "\n".join(lines)


MANIFEST = """name: bridge-vibration
version: 1
task: classification
input:
  tensor: window
  shape: [3, {length}]
  decode: csv-window
  sample_rate_hz: {rate}
  length: {length}
  channels: [ax, ay, az]
  units: m/s2
  scale: 1.0
  mean: [0.0, 0.0, 0.0]
  std: [1.0, 1.0, 1.0]
output:
  tensor: logits
  labels: [healthy, damaged]
  positive: damaged
head:
  embedding: embedding
baseline:
  roc_auc: 0.0
  accuracy: 0.0
  test_samples: {n}
  test_data: "{test_cmd}"
provenance:
  script: models/training/train_bridge.py
  seed: {seed}
  data: "plateau simulate vibration; training sites: {train_sites}; validation sites: {val_sites}; \
anchor: {anchor_cmd}"
  python_heldout_roc_auc: {auc:.4f}
  python_heldout_accuracy: {acc:.4f}
  python_heldout_false_alarm_rate: {far:.4f}
  python_heldout_detection_rate: {det:.4f}
  trained: {date}
"""


def command_text(spec, out="DIR"):
    _, windows, seed, site_seed, sites = spec
    return "plateau " + " ".join(simulate_args(windows, seed, site_seed, sites) + ["--out", out])


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--plateau", default="java -jar target/plateau.jar",
                   help="command that runs plateau (default: %(default)s)")
    p.add_argument("--work", help="directory for the generated data (default: a temporary one, removed)")
    p.add_argument("--out", default="models/bridge-vibration", help="bundle directory (default: %(default)s)")
    p.add_argument("--max-epochs", type=int, default=60)
    p.add_argument("--patience", type=int, default=8)
    p.add_argument("--min-auc", type=float, default=0.95,
                   help="fail below this ROC AUC on the held-out decks (default: %(default)s)")
    p.add_argument("--date", default=datetime.date.today().isoformat(),
                   help="the manifest's trained: date (default: today)")
    args = p.parse_args()

    torch.manual_seed(SEED)
    np.random.seed(SEED)
    torch.set_num_threads(min(2, os.cpu_count() or 1))
    torch.use_deterministic_algorithms(True)

    work = args.work or tempfile.mkdtemp(prefix="bridge-")
    data = {}
    for spec in (TRAIN, VAL, TEST):
        d = os.path.join(work, spec[0])
        if not os.path.isdir(d):
            simulate(args.plateau, d, spec)
        data[spec[0]] = load(d, spec[4])
        x, y, _ = data[spec[0]]
        if len(x) != spec[1]:
            raise RuntimeError(f"{d}: {len(x)} windows, expected {spec[1]} (remove it to regenerate)")
        print(f"{spec[0]}: {len(x)} windows, {int(y.sum())} damaged", flush=True)

    model = BridgeNet()
    xtr, ytr, _ = data["train"]
    xval, yval, _ = data["val"]
    best_epoch = train(model, xtr, ytr, xval, yval, args.max_epochs, args.patience)
    model.eval()

    xte, yte, site_te = data["test"]
    test_logits = logits_of(model, xte)
    heldout = metrics(yte, test_logits)
    train_m = metrics(ytr, logits_of(model, xtr))
    print(f"best epoch {best_epoch}")
    print("training sites:", {k: round(v, 4) for k, v in train_m.items()})
    print("held-out sites:", {k: round(v, 4) for k, v in heldout.items()})
    for s in range(TEST[4]):
        m = site_te == s
        sm = metrics(yte[m], test_logits[m])
        print(f"  held-out site {s}: " + ", ".join(f"{k} {v:.3f}" for k, v in sm.items()))

    os.makedirs(args.out, exist_ok=True)
    onnx_path = os.path.join(args.out, "model.onnx")
    exported = export(model, onnx_path)
    print("ONNX graph:\n" + describe(exported))

    verify(model, exported, xte[np.r_[0:8, -8:0]])

    anchor = os.path.join(args.out, "anchor")
    if os.path.isdir(anchor):
        shutil.rmtree(anchor)
    simulate(args.plateau, anchor, ANCHOR)

    with open(os.path.join(args.out, "manifest.yaml"), "w") as f:
        f.write(MANIFEST.format(
            length=LENGTH, rate=SAMPLE_RATE_HZ, auc=heldout["roc_auc"], acc=heldout["accuracy"],
            n=len(yte), test_cmd=command_text(TEST), seed=SEED,
            train_sites=f"--site-seed {TRAIN[3]} --sites {TRAIN[4]}, {TRAIN[1]} windows, --seed {TRAIN[2]}",
            val_sites=f"--site-seed {VAL[3]} --sites {VAL[4]}, {VAL[1]} windows, --seed {VAL[2]}",
            anchor_cmd=command_text(ANCHOR, anchor),
            far=heldout["false_alarm_rate"], det=heldout["detection_rate"],
            date=args.date))
    print(f"wrote {args.out}: model.onnx {os.path.getsize(onnx_path)} bytes")
    if not args.work:
        shutil.rmtree(work)
    if heldout["roc_auc"] < args.min_auc:
        print(f"held-out ROC AUC {heldout['roc_auc']:.4f} is below --min-auc {args.min_auc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
