"""The PyTorch peer of Plateau's on-device fine-tune, for the camera shifts.

For each shift folder written by make_shifts.py (``DATA/<shift>/{train,test,
clean_test}``) this fine-tunes the head of ``models/fashion-cnn`` the way
Plateau does, in PyTorch, with the best settings a small honest search finds:

* the backbone (conv layers up to ``embedding``, the Flatten output) is the
  shipped ONNX model's, loaded into the PyTorch module of train_fashion.py and
  frozen; embeddings are computed once and cached, as Plateau does;
* only the head (Linear 1568->128, ReLU, Linear 128->10) is trained: Adam,
  batch 32, cross-entropy, gradient clipping at global norm 5, L2-SP pull
  ``drift_decay * (W - W0)`` on the two weight matrices (biases free) added to
  the gradient after clipping, rehearsal of anchor images
  (``round(rehearsal_ratio * n)`` per epoch, every anchor equally often) -
  the same training step as Plateau's Java trainer;
* the bundle's anchor set is split per class into two seeded halves: one half
  is rehearsed, the other (the guard) only measures forgetting;
* the search (learning rate x drift_decay x rehearsal_ratio, each run up to
  ``--max-epochs`` epochs) is scored on a stratified selection split of 20 %
  of the 500 train images and on the anchor guard half; the test sets are
  never looked at until the settings are fixed. Two selection rules are
  reported (each picks the epoch within a trial and the winning trial):
  ``average``, the mean of the new task's accuracy (selection split) and the
  old task's (guard), the average accuracy of continual learning; and
  ``constrained``, the best selection accuracy among epochs whose guard
  accuracy fell by at most ``--max-forgetting`` (0.03, Plateau's default).
  The chosen settings and epoch count are then refitted on all 500 train
  images;
* reports per shift (one JSON line on stdout): accuracy before/after on
  ``test`` (2,000 shifted) and ``clean_test`` (2,000 clean, the forgetting
  measure), guard accuracy, the chosen settings, every trial, wall times.

It also times one plain run (Adam lr 1e-3, 40 epochs, batch 32, no rehearsal,
no pull, on the 500 cached embeddings; and once through the frozen backbone
from pixels) and prints which BLAS PyTorch uses.

Run from the repository root, see models/training/README.md.
"""

import argparse
import ctypes
import ctypes.util
import itertools
import json
import os
import struct
import sys
import time
import zlib

import numpy as np
import onnx
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import train_fashion as tf  # noqa: E402  (FashionCNN and its ONNX loader)

SHIFTS = ["dark-noisy", "inverted-lowcontrast", "blur-haze", "fog"]
GRID = {
    "lr": [3e-4, 1e-3, 3e-3],
    "drift_decay": [0.0, 0.003, 0.01, 0.03, 0.1],
    "rehearsal_ratio": [0.5, 1.0, 2.0],
}
BATCH = 32
CLIP_NORM = 5.0


# ---------------------------------------------------------------------------
# data

def read_png(path):
    """8-bit grayscale, non-interlaced PNG (all five row filters) -> uint8 [h, w]."""
    with open(path, "rb") as f:
        raw = f.read()
    if raw[:8] != b"\x89PNG\r\n\x1a\n":
        raise ValueError("%s: not a PNG" % path)
    pos, idat, hdr = 8, [], None
    while pos < len(raw):
        n, tag = struct.unpack(">I4s", raw[pos:pos + 8])
        data = raw[pos + 8:pos + 8 + n]
        pos += 12 + n
        if tag == b"IHDR":
            hdr = struct.unpack(">IIBBBBB", data)
        elif tag == b"IDAT":
            idat.append(data)
        elif tag == b"IEND":
            break
    w, h, depth, color, _, _, interlace = hdr
    if depth != 8 or color != 0 or interlace:
        raise ValueError("%s: only 8-bit grayscale non-interlaced PNG is supported" % path)
    buf = np.frombuffer(zlib.decompress(b"".join(idat)), dtype=np.uint8).reshape(h, w + 1)
    out = np.zeros((h, w), dtype=np.int32)
    prev = np.zeros(w, dtype=np.int32)
    for r in range(h):
        ft, line = buf[r, 0], buf[r, 1:].astype(np.int32)
        if ft == 0:
            cur = line
        elif ft == 2:
            cur = (line + prev) & 0xFF
        else:
            cur = np.zeros(w, dtype=np.int32)
            for i in range(w):
                a = cur[i - 1] if i else 0
                b, c = prev[i], (prev[i - 1] if i else 0)
                if ft == 1:
                    pred = a
                elif ft == 3:
                    pred = (a + b) // 2
                elif ft == 4:
                    p = a + b - c
                    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                    pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                else:
                    raise ValueError("%s: bad PNG filter %d" % (path, ft))
                cur[i] = (line[i] + pred) & 0xFF
        out[r] = cur
        prev = cur
    return out.astype(np.uint8)


def manifest_labels(bundle):
    with open(os.path.join(bundle, "manifest.yaml")) as f:
        for line in f:
            if line.strip().startswith("labels:"):
                return [s.strip() for s in line.split("[", 1)[1].split("]", 1)[0].split(",")]
    raise ValueError("no labels in manifest")


def read_folder(d, labels):
    """ImageFolder <label>/*.png -> (uint8 [N,28,28], int64 [N]); sorted, folders must be labels."""
    xs, ys = [], []
    for name in sorted(os.listdir(d)):
        if not os.path.isdir(os.path.join(d, name)):
            continue
        if name not in labels:
            raise ValueError("%s: folder '%s' is not a label of the model" % (d, name))
        for f in sorted(os.listdir(os.path.join(d, name))):
            if f.endswith(".png"):
                img = read_png(os.path.join(d, name, f))
                if img.shape != (28, 28):
                    raise ValueError("%s/%s/%s: not 28x28" % (d, name, f))
                xs.append(img)
                ys.append(labels.index(name))
    if not xs:
        raise ValueError("%s: no images" % d)
    return np.stack(xs), np.array(ys, dtype=np.int64)


def to_tensor(u8):
    return torch.from_numpy(u8.astype(np.float32) / 255.0).unsqueeze(1)  # manifest: scale 1/255


def stratified_split(y, fraction, seed):
    """Seeded per-class split: returns (first, second) index arrays, second ~ fraction per class."""
    rng = np.random.default_rng(seed)
    a, b = [], []
    for c in np.unique(y):
        idx = rng.permutation(np.flatnonzero(y == c))
        k = int(round(fraction * len(idx)))
        b.extend(idx[:k])
        a.extend(idx[k:])
    return np.sort(np.array(a)), np.sort(np.array(b))


# ---------------------------------------------------------------------------
# model

def load_model(bundle):
    return tf.fresh_model_from_onnx(onnx.load(os.path.join(bundle, "model.onnx")))


def embed(model, u8, batch=1000):
    x = to_tensor(u8)
    with torch.no_grad():
        return torch.cat([model.flatten(model.features(x[s:s + batch])) for s in range(0, len(x), batch)])


def head_eval(head, e, y):
    with torch.no_grad():
        out = head(e)
        return float((out.argmax(1) == y).float().mean()), float(F.cross_entropy(out, y))


def anchor_rows(k, n_anchors, gen):
    """k anchor rows: every anchor floor(k/A) times plus k mod A distinct ones (as Plateau's AnchorSampler)."""
    full = torch.arange(n_anchors).repeat(k // n_anchors)
    rest = torch.randperm(n_anchors, generator=gen)[:k % n_anchors]
    return torch.cat([full, rest])


def train_head(base_head, e_tr, y_tr, e_reh, y_reh, lr, drift_decay, rehearsal_ratio, epochs, seed,
               e_sel=None, y_sel=None, e_guard=None, y_guard=None):
    """Trains a copy of base_head for `epochs` epochs. With a selection split and guard, logs their
    accuracy after every epoch (the search picks epochs from this log; the chosen epoch count is
    refitted afterwards, so no weights are kept). Returns (head after the last epoch, log)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    head = tf.FashionCNN().head
    head.load_state_dict(base_head.state_dict())
    head.train()
    weights = [head[0].weight, head[2].weight]
    origin = [w.detach().clone() for w in weights]
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    k = int(round(rehearsal_ratio * len(e_tr))) if e_reh is not None else 0
    x_all = torch.cat([e_tr, e_reh]) if k else e_tr
    y_all = torch.cat([y_tr, y_reh]) if k else y_tr
    n = len(e_tr)
    log = []
    for epoch in range(1, epochs + 1):
        rows = torch.arange(n)
        if k:
            rows = torch.cat([rows, n + anchor_rows(k, len(e_reh), gen)])
        rows = rows[torch.randperm(len(rows), generator=gen)]
        for s in range(0, len(rows), BATCH):
            idx = rows[s:s + BATCH]
            opt.zero_grad()
            F.cross_entropy(head(x_all[idx]), y_all[idx]).backward()
            nn.utils.clip_grad_norm_(head.parameters(), CLIP_NORM)
            if drift_decay:
                with torch.no_grad():
                    for w, w0 in zip(weights, origin):
                        w.grad.add_(w - w0, alpha=drift_decay)
            opt.step()
        if e_sel is not None:
            head.eval()
            acc, loss = head_eval(head, e_sel, y_sel)
            guard = head_eval(head, e_guard, y_guard)[0]
            log.append({"epoch": epoch, "sel_acc": acc, "sel_loss": loss, "guard_acc": guard,
                        "score": (acc + guard) / 2})
            head.train()
    head.eval()
    return head, log


def rule_key(rule, guard_before, max_forgetting):
    """Ordering of (epoch or trial) records, larger is better.
    average:     mean of selection and guard accuracy (the average accuracy of continual
                 learning); ties: lower selection loss.
    constrained: selection accuracy among records whose guard accuracy fell by at most
                 max_forgetting (records above it rank below all others); ties: higher guard
                 accuracy, then lower selection loss."""
    if rule == "average":
        return lambda r: (r["score"], -r["sel_loss"])
    if rule == "constrained":
        return lambda r: (guard_before - r["guard_acc"] <= max_forgetting + 1e-9, r["sel_acc"], r["guard_acc"],
                          -r["sel_loss"])
    raise ValueError(rule)


# ---------------------------------------------------------------------------

def blas_report():
    cfg = torch.__config__.show()
    info = [s.strip() for s in cfg.replace(",", "\n").splitlines() if "BLAS_INFO" in s or "LAPACK_INFO" in s]
    loaded = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                p = line.split()[-1]
                if "blas" in os.path.basename(p) or "lapack" in os.path.basename(p):
                    loaded.add(os.path.basename(os.path.dirname(p)) + "/" + os.path.basename(p))
    except OSError:
        pass
    rep = {"torch_build": info, "blas_libraries_mapped": sorted(loaded)}
    name = ctypes.util.find_library("openblas")
    if name:
        try:
            lib = ctypes.CDLL(name)
            lib.openblas_get_config.restype = ctypes.c_char_p
            rep["openblas_loadable"] = True
            rep["openblas_config"] = lib.openblas_get_config().decode()
            rep["openblas_threads"] = lib.openblas_get_num_threads()
        except OSError as e:
            rep["openblas_loadable"] = False
            rep["openblas_error"] = str(e)
    else:
        rep["openblas_loadable"] = False
    rep["torch_uses_openblas"] = any("openblas" in p for p in loaded)
    return rep


class Clock:
    """Wall and CPU (process) seconds since creation; the CPU figure is the steadier one on a
    shared machine."""

    def __init__(self):
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def read(self):
        return {"wall": round(time.perf_counter() - self.wall, 3), "cpu": round(time.process_time() - self.cpu, 3)}


def plain_run_timing(model, x_train_u8, y_train, epochs=40, lr=1e-3, seed=0):
    """One plain run, no search: Adam lr 1e-3, 40 epochs, batch 32 on the 500 train images,
    no rehearsal, no pull; once on cached embeddings, once through the frozen backbone."""
    y = torch.from_numpy(y_train)
    c = Clock()
    e = embed(model, x_train_u8)
    t_embed = c.read()
    c = Clock()
    train_head(model.head, e, y, None, None, lr, 0.0, 0.0, epochs, seed)
    t_cached = c.read()
    # from pixels: every step runs the frozen conv layers again
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    head = tf.FashionCNN().head
    head.load_state_dict(model.head.state_dict())
    opt = torch.optim.Adam(head.parameters(), lr=lr)
    x = to_tensor(x_train_u8)
    c = Clock()
    for _ in range(epochs):
        perm = torch.randperm(len(x), generator=gen)
        for s in range(0, len(x), BATCH):
            idx = perm[s:s + BATCH]
            with torch.no_grad():
                emb = model.flatten(model.features(x[idx]))
            opt.zero_grad()
            F.cross_entropy(head(emb), y[idx]).backward()
            opt.step()
    t_pixels = c.read()
    return {"epochs": epochs, "batch": BATCH, "lr": lr, "train_images": len(x),
            "seconds": {"embed_500": t_embed, "head_on_cached_embeddings": t_cached,
                        "frozen_backbone_from_pixels": t_pixels}}


def run_shift(args, model, labels, shift, anchors):
    base = os.path.join(args.data, shift)
    c_total = Clock()
    x_tr, y_tr = read_folder(os.path.join(base, "train"), labels)
    x_te, y_te = read_folder(os.path.join(base, "test"), labels)
    x_cl, y_cl = read_folder(os.path.join(base, "clean_test"), labels)
    c = Clock()
    e_tr = embed(model, x_tr)
    t_embed = c.read()
    e_te, e_cl = embed(model, x_te), embed(model, x_cl)
    y_tr, y_te, y_cl = map(torch.from_numpy, (y_tr, y_te, y_cl))
    e_reh, y_reh, e_guard, y_guard = anchors

    fit, sel = stratified_split(y_tr.numpy(), args.selection_fraction, args.seed)
    fit, sel = torch.from_numpy(fit), torch.from_numpy(sel)
    guard_before = head_eval(model.head, e_guard, y_guard)[0]
    sel_before = head_eval(model.head, e_tr[sel], y_tr[sel])[0]

    # the search: only the fit / selection split of train and the anchor guard are looked at
    logs = []
    c = Clock()
    for lr, dd, rr in itertools.product(GRID["lr"], GRID["drift_decay"], GRID["rehearsal_ratio"]):
        ct = Clock()
        _, log = train_head(model.head, e_tr[fit], y_tr[fit], e_reh, y_reh, lr, dd, rr, args.max_epochs,
                            args.seed, e_tr[sel], y_tr[sel], e_guard, y_guard)
        logs.append(({"lr": lr, "drift_decay": dd, "rehearsal_ratio": rr, "cpu_seconds": ct.read()["cpu"]}, log))
    t_search = c.read()

    results = {}
    for rule in args.rules.split(","):
        key = rule_key(rule, guard_before, args.max_forgetting)
        trials = []
        for settings, log in logs:
            b = max(log, key=key)
            trials.append(dict(settings, best_epoch=b["epoch"], score=round(b["score"], 4),
                               sel_acc=round(b["sel_acc"], 4), sel_loss=round(b["sel_loss"], 4),
                               guard_acc=round(b["guard_acc"], 4),
                               _key=key(b)))
        ranked = sorted(trials, key=lambda t: t["_key"], reverse=True)
        win, runner_up = ranked[0], ranked[1]
        for t in trials:
            del t["_key"]
        if rule == "average":
            why = ("best mean of selection accuracy (new task) and guard accuracy (old task) of %d trials: %.4f "
                   "(selection %.2f, guard %.4f); runner-up %.4f" % (len(trials), win["score"], win["sel_acc"],
                                                                     win["guard_acc"], runner_up["score"]))
        else:
            n_ok = sum(guard_before - t["guard_acc"] <= args.max_forgetting + 1e-9 for t in trials)
            why = ("best selection accuracy (%.2f, guard %.4f) of the %d of %d trials whose guard accuracy fell "
                   "by at most %.2f from %.4f; runner-up %.2f" % (win["sel_acc"], win["guard_acc"], n_ok,
                                                                  len(trials), args.max_forgetting, guard_before,
                                                                  runner_up["sel_acc"]))
        # refit the chosen settings on all 500 train images for the chosen number of epochs
        c = Clock()
        head, _ = train_head(model.head, e_tr, y_tr, e_reh, y_reh, win["lr"], win["drift_decay"],
                             win["rehearsal_ratio"], win["best_epoch"], args.seed)
        results[rule] = {"head": head, "refit_seconds": c.read(), "trials": trials,
                         "chosen": {"lr": win["lr"], "drift_decay": win["drift_decay"],
                                    "rehearsal_ratio": win["rehearsal_ratio"], "epochs": win["best_epoch"],
                                    "why": why}}
    # for reference only (not used to choose anything): the plain run on all 500, no rehearsal, no pull
    plain, _ = train_head(model.head, e_tr, y_tr, None, None, 1e-3, 0.0, 0.0, 40, args.seed)

    def accs(h):
        return {"test": round(head_eval(h, e_te, y_te)[0], 4), "clean_test": round(head_eval(h, e_cl, y_cl)[0], 4),
                "guard": round(head_eval(h, e_guard, y_guard)[0], 4)}

    before = accs(model.head)
    before["selection"] = round(sel_before, 4)
    out = {
        "shift": shift,
        "data": {"train": len(y_tr), "fit": len(fit), "selection": len(sel), "test": len(y_te),
                 "clean_test": len(y_cl), "anchor_rehearsal": len(y_reh), "anchor_guard": len(y_guard)},
        "before": before,
    }
    for rule, r in results.items():
        after = accs(r["head"])
        out[rule] = {"after": after, "gain_test": round(after["test"] - before["test"], 4),
                     "clean_drop": round(before["clean_test"] - after["clean_test"], 4),
                     "chosen": r["chosen"], "refit_seconds": r["refit_seconds"]}
    out["fixed"] = {"optimizer": "adam", "batch": BATCH, "clip_norm": CLIP_NORM, "max_epochs": args.max_epochs,
                    "selection_fraction": args.selection_fraction, "max_forgetting": args.max_forgetting,
                    "seed": args.seed}
    out["plain_500_no_rehearsal_reference"] = accs(plain)
    out["seconds"] = {"embed_train": t_embed, "search": t_search, "total": c_total.read()}
    out["trials"] = {rule: r["trials"] for rule, r in results.items()}
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="output folder of make_shifts.py")
    ap.add_argument("--bundle", default="models/fashion-cnn", help="model bundle (default: %(default)s)")
    ap.add_argument("--shifts", default=",".join(SHIFTS), help="comma-separated (default: all four)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-epochs", type=int, default=40)
    ap.add_argument("--selection-fraction", type=float, default=0.2)
    ap.add_argument("--rules", default="average,constrained",
                    help="selection rules to report, comma-separated (default: %(default)s; see rule_key)")
    ap.add_argument("--max-forgetting", type=float, default=0.03,
                    help="guard-accuracy drop allowed by the 'constrained' rule (default: %(default)s, "
                         "Plateau's max_forgetting)")
    ap.add_argument("--threads", type=int, default=1,
                    help="torch threads (default: %(default)s; the head's 32-row steps are slower with more)")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    torch.use_deterministic_algorithms(True)

    model = load_model(args.bundle).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    labels = manifest_labels(args.bundle)
    assert labels == tf.LABELS, labels
    xa, ya = read_folder(os.path.join(args.bundle, "anchor"), labels)
    reh, guard = stratified_split(ya, 0.5, args.seed)  # per class: half rehearses, half guards
    ea = embed(model, xa)
    ya = torch.from_numpy(ya)
    anchors = (ea[reh], ya[reh], ea[guard], ya[guard])

    print(json.dumps({"blas": blas_report(), "threads": torch.get_num_threads()}), flush=True)
    first = SHIFTS[0] if SHIFTS[0] in args.shifts.split(",") else args.shifts.split(",")[0]
    xt, yt = read_folder(os.path.join(args.data, first, "train"), labels)
    print(json.dumps({"plain_run": dict(plain_run_timing(model, xt, yt, seed=args.seed), data=first)}), flush=True)
    for shift in args.shifts.split(","):
        print(json.dumps(run_shift(args, model, labels, shift, anchors)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
