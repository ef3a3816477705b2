#!/usr/bin/python3
"""Runs the benchmarked models in PyTorch and ours in the same run, and prints the ratios.

Optional: needs Debian's python3-torch (apt-get install python3-torch). Usage, from the repository root
after building: /usr/bin/python3 bench/torch_compare.py [build-dir]
Each line is name=value; ratios above 1 mean ours is faster.
"""
import gzip
import json
import os
import struct
import subprocess
import sys
import time

BUILD = sys.argv[1] if len(sys.argv) > 1 else "build"
DATA = "/usr/share/datasets/fashion-mnist/"

# PyTorch is measured in its best setup on this machine class, which must be in the environment
# before torch is imported: Debian's default (torch threads and OpenBLAS threads oversubscribing two
# cores, OpenBLAS on its Prescott fallback kernels) runs the MLP step at ~76 steps/s, one OpenBLAS
# thread with the AVX-512 kernels at ~490. The kernel is the one our benchmarks detected.
TUNED = "DLCOURSE_TORCH_TUNED"
if TUNED not in os.environ:
    kernel = "SkylakeX"
    probe = os.path.join(BUILD, "bench/autodiff/tiny_mlp_step")
    if os.path.exists(probe):
        out = subprocess.run([probe, "2000"], capture_output=True, text=True).stdout
        kernel = dict(l.split("=", 1) for l in out.splitlines() if "=" in l).get("blas_kernel", kernel)
    # Ours run in the caller's environment, kept aside for them.
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", **{TUNED: json.dumps(dict(os.environ))})
    if kernel not in ("", "unknown"):
        env.setdefault("OPENBLAS_CORETYPE", kernel)
    os.execve(sys.executable, [sys.executable, *sys.argv], env)

import numpy as np  # noqa: E402 (after the environment is set)
import torch  # noqa: E402


def ours(program, *args):
    """Runs one of our benchmarks and returns its name=value lines as a dict."""
    path = os.path.join(BUILD, program)
    if not os.path.exists(path):
        print(f"# {path} not built: skipped")
        return {}
    out = subprocess.run([path, *args], capture_output=True, text=True, check=True,
                         env=json.loads(os.environ[TUNED])).stdout
    return dict(line.split("=", 1) for line in out.splitlines() if "=" in line)


def tiny_step_us():
    torch.set_num_threads(1)
    torch.manual_seed(0)
    X = torch.randn(64, 2)
    y = (X[:, :1] * X[:, 1:] > 0).float()
    m = torch.nn.Sequential(torch.nn.Linear(2, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
                            torch.nn.Linear(16, 1))
    opt = torch.optim.SGD(m.parameters(), lr=0.1)
    lf = torch.nn.BCEWithLogitsLoss()
    def step():
        opt.zero_grad()
        lf(m(X), y).backward()
        opt.step()
    for _ in range(200):
        step()
    n = 3000
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    return 1e6 * (time.perf_counter() - t0) / n


def idx(path):
    with gzip.open(path) as f:
        magic, = struct.unpack(">I", f.read(4))
        dims = struct.unpack(">" + "I" * (magic & 0xff), f.read(4 * (magic & 0xff)))
        return np.frombuffer(f.read(), dtype=np.uint8).reshape(dims)


def mlp_steps_per_s(threads=2, steps=400):
    torch.set_num_threads(threads)
    X = idx(DATA + "train-images-idx3-ubyte.gz").reshape(-1, 784).astype(np.float32) / 255
    y = idx(DATA + "train-labels-idx1-ubyte.gz").astype(np.int64)
    X = torch.from_numpy((X - X.mean(0)) / (X.std(0) + 1e-8))
    y = torch.from_numpy(y)
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(784, 256), torch.nn.ReLU(), torch.nn.Linear(256, 128),
                                torch.nn.ReLU(), torch.nn.Linear(128, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    lossf = torch.nn.CrossEntropyLoss()
    perm = torch.randperm(len(X))
    def step(i):
        b = perm[(i * 128) % 59904:(i * 128) % 59904 + 128]
        opt.zero_grad()
        lossf(model(X[b]), y[b]).backward()
        opt.step()
    for i in range(30):
        step(i)
    t0 = time.perf_counter()
    for i in range(steps):
        step(i)
    return steps / (time.perf_counter() - t0)


def gradcheck_ms():
    from torch.autograd import gradcheck
    torch.manual_seed(0)
    shapes = [(32, 20), (32,), (32, 32), (32,), (5, 32), (5,)]
    params = [torch.randn(*s, dtype=torch.float64, requires_grad=True) for s in shapes]
    Xd = torch.randn(16, 20, dtype=torch.float64)
    yd = torch.randint(0, 5, (16,))
    def J(W1, b1, W2, b2, W3, b3):
        h = torch.tanh(Xd @ W1.T + b1)
        h = torch.tanh(h @ W2.T + b2)
        return torch.nn.functional.cross_entropy(h @ W3.T + b3, yd) + 1e-3 * (
            W1.pow(2).sum() + W2.pow(2).sum() + W3.pow(2).sum())
    result = {}
    for fast in (False, True):
        t0 = time.perf_counter()
        gradcheck(J, tuple(params), fast_mode=fast)
        result[fast] = 1e3 * (time.perf_counter() - t0)
    return result[False], result[True]


def ratio(name, theirs, mine, higher_is_better):
    if mine is None:
        return
    r = (mine / theirs) if higher_is_better else (theirs / mine)
    print(f"{name}_torch={theirs:.3f}\n{name}_ours={mine:.3f}\n{name}_speedup={r:.2f}")


def main():
    print(f"torch_version={torch.__version__}")
    print(f"torch_env=OPENBLAS_NUM_THREADS={os.environ['OPENBLAS_NUM_THREADS']} "
          f"OMP_NUM_THREADS={os.environ['OMP_NUM_THREADS']} OPENBLAS_CORETYPE={os.environ.get('OPENBLAS_CORETYPE', '')}")
    tiny = ours("bench/autodiff/tiny_mlp_step")
    ratio("tiny_mlp_us_per_step", tiny_step_us(), float(tiny["us_per_step"]) if tiny else None, False)
    mlp = ours("bench/nn/mlp_step")
    ratio("mlp_steps_per_s", mlp_steps_per_s(), float(mlp["steps_per_s"]) if mlp else None, True)
    gc = ours("bench/gradcheck/gradcheck_bench")
    full, fast = gradcheck_ms()
    ratio("gradcheck_full_ms", full, float(gc["full_ms"]) if "full_ms" in gc else None, False)
    ratio("gradcheck_directional_ms", fast, float(gc["directional_ms"]) if "directional_ms" in gc else None, False)


if __name__ == "__main__":
    main()
