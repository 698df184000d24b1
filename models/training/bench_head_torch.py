"""PyTorch side of `plateau bench tune`: trains the same head on the same embeddings.

Reads the file `plateau bench tune` writes (little-endian):
  int32 magic 0x504C4842 ("PLHB"), int32 n, int32 dim, int32 layers
  float32 x[n][dim], int32 labels[n]
  per layer: int32 kind (0 dense, 1 relu), int32 inputs, int32 outputs,
             for dense: float32 W[outputs][inputs], float32 b[outputs]

Trains with Adam (lr, betas, eps given), cross-entropy, one thread; step s takes the
rows (s * batch + j) mod n, j < batch, as Plateau does. Runs the steps once as a warm-up,
then `--repeats` times from the initial weights, and prints one JSON line: the median and
every run's milliseconds, the final loss, which BLAS this torch uses (from its build
configuration and the shared libraries it loaded) and the GFLOP/s of a 1024x1024 float32
matmul, so that a reference BLAS is seen, not assumed away.

Usage: python3 bench_head_torch.py FILE --steps N --batch B --lr LR --beta1 B1 --beta2 B2
       --eps EPS --repeats R
"""
import argparse
import json
import statistics
import struct
import sys
import time

import numpy as np
import torch

MAGIC = 0x504C4842


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    magic, n, dim, count = struct.unpack_from("<4i", data, 0)
    if magic != MAGIC:
        sys.exit(f"{path}: not a head benchmark file (magic {magic:#x}, expected {MAGIC:#x})")
    pos = 16
    x = np.frombuffer(data, "<f4", n * dim, pos).reshape(n, dim)
    pos += 4 * n * dim
    y = np.frombuffer(data, "<i4", n, pos)
    pos += 4 * n
    layers = []
    for _ in range(count):
        kind, inputs, outputs = struct.unpack_from("<3i", data, pos)
        pos += 12
        if kind == 0:
            w = np.frombuffer(data, "<f4", inputs * outputs, pos).reshape(outputs, inputs)
            pos += 4 * inputs * outputs
            b = np.frombuffer(data, "<f4", outputs, pos)
            pos += 4 * outputs
            layers.append(("dense", w, b))
        else:
            layers.append(("relu", None, None))
    return x, y, layers


def build(layers):
    modules = []
    for kind, w, b in layers:
        if kind == "dense":
            m = torch.nn.Linear(w.shape[1], w.shape[0])
            with torch.no_grad():
                m.weight.copy_(torch.from_numpy(w.copy()))
                m.bias.copy_(torch.from_numpy(b.copy()))
            modules.append(m)
        else:
            modules.append(torch.nn.ReLU())
    return torch.nn.Sequential(*modules)


def train(x, y, layers, args):
    model = build(layers)
    opt = torch.optim.Adam(model.parameters(), lr=args.lr, betas=(args.beta1, args.beta2), eps=args.eps)
    loss_fn = torch.nn.CrossEntropyLoss()
    n = x.shape[0]
    # The batches are gathered before the clock starts, as Plateau's embeddings are cached.
    batches = []
    for s in range(args.steps):
        idx = torch.tensor([(s * args.batch + j) % n for j in range(args.batch)])
        batches.append((x[idx], y[idx]))
    start = time.perf_counter()
    loss = None
    for xb, yb in batches:
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), yb)
        loss.backward()
        opt.step()
    ms = (time.perf_counter() - start) * 1000
    return ms, float(loss)


def blas():
    config = torch.__config__.show()
    libs = set()
    try:
        with open("/proc/self/maps") as f:
            for line in f:
                name = line.split()[-1]
                if any(k in name for k in ("blas", "mkl", "atlas", "blis")):
                    libs.add(name)
    except OSError:
        pass
    lines = [l.strip() for l in config.splitlines() if "BLAS" in l or "LAPACK" in l]
    a = torch.rand(1024, 1024)
    b = torch.rand(1024, 1024)
    torch.mm(a, b)
    runs = []
    for _ in range(3):
        start = time.perf_counter()
        torch.mm(a, b)
        runs.append(time.perf_counter() - start)
    gflops = 2 * 1024 ** 3 / min(runs) / 1e9
    return {"build": lines, "loaded": sorted(libs), "matmul_1024_gflops": gflops}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("file")
    p.add_argument("--steps", type=int, required=True)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--lr", type=float, required=True)
    p.add_argument("--beta1", type=float, required=True)
    p.add_argument("--beta2", type=float, required=True)
    p.add_argument("--eps", type=float, required=True)
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    x, y, layers = read(args.file)
    xt = torch.from_numpy(x.copy())
    yt = torch.from_numpy(y.astype(np.int64))
    train(xt, yt, layers, args)
    runs = []
    loss = None
    for _ in range(args.repeats):
        ms, loss = train(xt, yt, layers, args)
        runs.append(ms)
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(),
                      "median_ms": statistics.median(runs), "runs_ms": runs, "final_loss": loss,
                      "blas": blas()}))


if __name__ == "__main__":
    main()
