#!/usr/bin/python3
"""PyTorch timing of the checkpoint `qaterm bench` runs (development only).

    tests/ref/bench_torch.py DIR [--threads 2] [--lengths 384] [--iters 10]

Loads DIR/model.safetensors (F32; e.g. made by make_bert_base.py) into the
reference model of bert_ref.py (transformers' modeling_bert.py eager path:
nn.Linear projections, matmul + softmax attention, post-LayerNorm), runs one
window of synthetic ids per length under torch.no_grad() and prints, like
qaterm bench: p50 and p95 latency, tokens per second, GFLOPS with the same
operation count as qaterm's engine, and that as a share of the float32
1024 x 1024 x 1024 matmul peak measured in this process. Also prints the
OpenBLAS core and thread count torch's BLAS (libblas.so.3) is using, read
through OpenBLAS's own functions. Run with Debian's /usr/bin/python3.
"""
import argparse
import ctypes
import json
import os
import struct
import sys
import time

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bert_ref import QAModel  # noqa: E402


def load_safetensors(path):
    with open(path, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + n)
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if info["dtype"] != "F32":
            continue
        a, b = info["data_offsets"]
        arr = np.frombuffer(data[a:b], dtype="<f4").reshape(info["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


def blas_info():
    for lib in ("libblas.so.3", "libopenblas.so.0"):
        try:
            dll = ctypes.CDLL(lib)
            dll.openblas_get_corename.restype = ctypes.c_char_p
            return "%s: OpenBLAS core %s, %d threads" % (
                lib, dll.openblas_get_corename().decode(), dll.openblas_get_num_threads())
        except (OSError, AttributeError):
            continue
    return "no OpenBLAS found"


def matmul_peak(n=1024, reps=5):
    torch.manual_seed(0)
    a, b = torch.rand(n, n), torch.rand(n, n)
    torch.mm(a, b)
    best = 1e30
    for _ in range(reps):
        t0 = time.perf_counter()
        torch.mm(a, b)
        best = min(best, time.perf_counter() - t0)
    return 2.0 * n ** 3 / best / 1e9


def flops(cfg, t):
    h, inter = cfg["hidden_size"], cfg["intermediate_size"]
    per_layer = 8 * t * h * h + 4 * t * h * inter + 4 * t * t * h
    return cfg["num_hidden_layers"] * per_layer + 4 * t * h


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--lengths", default="384")
    ap.add_argument("--iters", type=int, default=10)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(args.dir, "config.json")) as f:
        cfg = json.load(f)
    t0 = time.perf_counter()
    model = QAModel(cfg)
    state = load_safetensors(os.path.join(args.dir, "model.safetensors"))
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing:
        sys.exit("missing tensors: %s" % missing[:5])
    model.eval()
    load_ms = (time.perf_counter() - t0) * 1e3
    peak = matmul_peak()
    print("model     %s (%s, %d parameters), loaded in %.0f ms" % (
        cfg.get("qaterm_name", args.dir), cfg["model_type"],
        sum(p.numel() for p in model.parameters()), load_ms))
    print("torch     %s, %d threads; %s; OPENBLAS_CORETYPE=%s" % (
        torch.__version__, torch.get_num_threads(), blas_info(),
        os.environ.get("OPENBLAS_CORETYPE", "(unset)")))
    print("          matmul peak %.1f GFLOPS (1024^3, best of 5)" % peak)
    print("timing    %d runs per length after one warm-up\n" % args.iters)
    print("%7s %9s %9s %10s %8s %8s" % ("tokens", "p50 ms", "p95 ms", "tokens/s", "GFLOPS", "of peak"))
    for t in [int(x) for x in args.lengths.split(",")]:
        ids = torch.tensor([[2] + [1000 + (i * 131) % 29000 for i in range(t - 2)] + [3]])
        types = torch.zeros_like(ids)
        types[0, t // 4 + 1:] = 1
        times = []
        with torch.no_grad():
            model(ids, types)
            for _ in range(args.iters):
                s = time.perf_counter()
                model(ids, types)
                times.append((time.perf_counter() - s) * 1e3)
        times.sort()
        p50 = times[max(0, -(-50 * len(times) // 100) - 1)]
        p95 = times[max(0, -(-95 * len(times) // 100) - 1)]
        g = flops(cfg, t) / (p50 / 1e3) / 1e9
        print("%7d %9.2f %9.2f %10.0f %8.1f %7.1f%%" % (t, p50, p95, t / (p50 / 1e3), g, 100 * g / peak))
    import resource
    print("\npeak RSS  %.1f MiB" % (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0))


if __name__ == "__main__":
    main()
