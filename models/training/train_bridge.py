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

Needs Debian's python3-torch, python3-onnx and python3-numpy; about four minutes on two cores.
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
TRAIN = ("train", 24000, 1, 11, 48)
VAL = ("val", 1600, 2, 12, 8)
TEST = ("test", 2400, 3, 13, 8)
# Anchor: fresh windows of the training decks, 4 per deck, half of them damaged.
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


class BridgeNet(nn.Module):
    EMBEDDING = 64
    HIDDEN = 32

    def __init__(self):
        super().__init__()
        self.scale = WindowScale()
        self.backbone = nn.Sequential(
            *block(3, 16, 9, True),
            *block(16, 32, 7, True),
            *block(32, 64, 5, True),
            *block(64, self.EMBEDDING, 5, False),
            nn.AdaptiveAvgPool1d(1),
            nn.Flatten(),
            nn.Dropout(0.2))
        # The on-device head: two dense layers, exported as Gemm, Relu, Gemm.
        self.head = nn.Sequential(
            nn.Linear(self.EMBEDDING, self.HIDDEN), nn.ReLU(), nn.Linear(self.HIDDEN, 2))

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


# With --site-weight > 0 (experimental, off for the committed model) training runs on site
# batches: each optimizer step sees SITES_PER_BATCH training decks with REFERENCE healthy windows
# each (the deck's "calibration"), plus PER_SITE healthy and PER_SITE damaged windows scored
# against that reference. 8 x (8 + 4 + 4) = 128 windows.
SITES_PER_BATCH = 8
REFERENCE = 8
PER_SITE = 4


class SiteRelative(nn.Module):
    """Training-only score of how far a window's embedding lies from its deck's healthy windows:
    log of the squared distance to their mean over their mean squared distance, as log-odds of
    damage. Calibration on a new deck fits a (Mahalanobis) distance to that deck's healthy
    embeddings, so the backbone is taught that damage moves a window away from its own deck's
    healthy cloud, not only across one boundary shared by all decks."""

    def __init__(self):
        super().__init__()
        self.slope = nn.Parameter(torch.tensor(1.0))
        self.offset = nn.Parameter(torch.tensor(-1.0))

    def forward(self, reference, scored):
        center = reference.mean(dim=1, keepdim=True)
        spread = ((reference - center) ** 2).sum(dim=2).mean(dim=1, keepdim=True) + 1e-6
        d2 = ((scored - center) ** 2).sum(dim=2)
        return self.slope * torch.log(d2 / spread) + self.offset


def site_batches(ytr, site, gen):
    """One epoch of site batches: index tensors [SITES_PER_BATCH, REFERENCE + 2 * PER_SITE], per
    deck the reference windows first, then healthy, then damaged windows to score."""
    decks = np.unique(site)
    healthy = {d: torch.from_numpy(np.flatnonzero((site == d) & (ytr == 0))) for d in decks}
    damaged = {d: torch.from_numpy(np.flatnonzero((site == d) & (ytr == 1))) for d in decks}
    per_batch = SITES_PER_BATCH * (REFERENCE + 2 * PER_SITE)
    for _ in range(len(ytr) // per_batch):
        rows = []
        for d in torch.randperm(len(decks), generator=gen)[:SITES_PER_BATCH].tolist():
            h = healthy[decks[d]][torch.randperm(len(healthy[decks[d]]), generator=gen)[:REFERENCE + PER_SITE]]
            g = damaged[decks[d]][torch.randperm(len(damaged[decks[d]]), generator=gen)[:PER_SITE]]
            rows.append(torch.cat([h, g]))
        yield torch.stack(rows)


def plain_epoch(model, opt, loss_fn, xt, yt, gen):
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


def site_epoch(model, relative, site_weight, opt, loss_fn, xt, yt, site, gen):
    """One epoch of site batches under the head's cross-entropy plus site_weight times the
    site-relative loss; (summed loss, windows)."""
    target = torch.cat([torch.zeros(PER_SITE), torch.ones(PER_SITE)]).repeat(SITES_PER_BATCH, 1)
    total, seen = 0.0, 0
    for rows in site_batches(yt.numpy(), site, gen):
        idx = rows.reshape(-1)
        # As in plain_epoch, but one flip per deck, so a deck's reference and scored windows
        # stay one deck.
        flips = torch.ones(SITES_PER_BATCH, 1, 3, 1)
        flips[:, 0, :2, 0] = torch.randint(0, 2, (SITES_PER_BATCH, 2), generator=gen) * 2.0 - 1.0
        x = (xt[rows] * flips).reshape(-1, 3, LENGTH)
        opt.zero_grad()
        embedding = model.backbone(model.scale(x))
        loss = loss_fn(model.head(embedding), yt[idx])
        e = embedding.reshape(SITES_PER_BATCH, REFERENCE + 2 * PER_SITE, -1)
        site_logits = relative(e[:, :REFERENCE], e[:, REFERENCE:])
        loss = loss + site_weight * nn.functional.binary_cross_entropy_with_logits(site_logits, target)
        loss.backward()
        opt.step()
        total += loss.item() * len(idx)
        seen += len(idx)
    return total, seen


def train(model, xtr, ytr, site, xval, yval, max_epochs, patience, site_weight):
    gen = torch.Generator().manual_seed(SEED)
    relative = SiteRelative()
    groups = [{"params": model.parameters()}]
    if site_weight > 0:
        groups.append({"params": relative.parameters(), "weight_decay": 0.0})
    opt = torch.optim.Adam(groups, lr=1e-3, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=3)
    loss_fn = nn.CrossEntropyLoss()
    xt, yt = torch.from_numpy(xtr), torch.from_numpy(ytr)
    best = (float("inf"), None, -1)
    for epoch in range(max_epochs):
        model.train()
        if site_weight > 0:
            total, seen = site_epoch(model, relative, site_weight, opt, loss_fn, xt, yt, site, gen)
        else:
            total, seen = plain_epoch(model, opt, loss_fn, xt, yt, gen)
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
    p.add_argument("--site-weight", type=float, default=0.0,
                   help="weight of the experimental site-relative loss; 0 (default) trains the committed model")
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
    xtr, ytr, site_tr = data["train"]
    xval, yval, _ = data["val"]
    best_epoch = train(model, xtr, ytr, site_tr, xval, yval, args.max_epochs, args.patience,
                       args.site_weight)
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
