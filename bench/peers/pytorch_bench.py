#!/usr/bin/env python3
"""PyTorch CPU peer for convnet's bench (run by bench/peers/pytorch.ts with /usr/bin/python3).

Measures, on the same machine and in the same run as convnet:
  - sgemm 1024^3 through numpy (OpenBLAS), on 1 thread and on --threads threads. OpenBLAS reads
    its thread count once, at load, so each count runs in a child process of this script;
  - the reference CNN's training step (Adam, batch 64) and inference (batch 256);
  - ResNet-18 in the CIFAR layout (3x3 stem, no max-pool, 32x32x3), training at batch 32.
It can also export the reference CNN to ONNX (--onnx-out) for the onnxruntime-node peer.

Prints one JSON object on stdout; every timing is a list of per-step seconds after warm-up.
"""
import argparse
import json
import os
import subprocess
import sys
import time


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--quick", action="store_true", help="fewer repetitions (CI smoke)")
    p.add_argument("--onnx-out", default=None, help="write the reference CNN as ONNX here")
    p.add_argument("--sgemm-only", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--skip-resnet", action="store_true")
    a = p.parse_args()
    if a.threads < 1:
        p.error(f"--threads must be a positive integer, got {a.threads}")
    return a


def sample(fn, warmup, reps, min_sample_s):
    """Per-call seconds of `reps` samples after `warmup` calls; a sample repeats fn until it lasts
    at least min_sample_s, so short calls are not lost in timer noise."""
    t = 0.0
    for _ in range(max(1, warmup)):
        t0 = time.perf_counter()
        fn()
        t = time.perf_counter() - t0
    inner = max(1, int(min_sample_s / max(t, 1e-9)) + 1) if t < min_sample_s else 1
    out = []
    for _ in range(reps):
        t0 = time.perf_counter()
        for _ in range(inner):
            fn()
        out.append((time.perf_counter() - t0) / inner)
    return out


def sgemm_child(threads, quick):
    import numpy as np

    n = 1024
    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    c = np.empty((n, n), dtype=np.float32)
    secs = sample(lambda: np.matmul(a, b, out=c), 2, 3 if quick else 7, 0.05)
    return {"n": n, "threads": threads, "seconds": secs, "numpy": np.__version__, "blas": loaded_blas()}


def loaded_blas():
    """The BLAS library numpy is running on, from the process's memory map (Linux); numpy's own
    config names only the link-time alias (libblas.so.3 behind Debian's alternatives)."""
    try:
        with open("/proc/self/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    for name, label in (("libopenblas", "OpenBLAS"), ("libmkl", "MKL"), ("libblis", "BLIS"), ("libblas.so", "reference BLAS")):
        if name in maps:
            path = next(l.split()[-1] for l in maps.splitlines() if name in l)
            return f"{label} ({os.path.realpath(path)})"
    return "unknown"


def run_sgemm(threads, quick):
    env = dict(os.environ)
    env["OPENBLAS_NUM_THREADS"] = str(threads)
    env["OMP_NUM_THREADS"] = str(threads)
    args = [sys.executable, os.path.abspath(__file__), "--sgemm-only", "--threads", str(threads)]
    if quick:
        args.append("--quick")
    r = subprocess.run(args, env=env, capture_output=True, text=True, timeout=300)
    if r.returncode != 0:
        return {"error": (r.stderr or r.stdout).strip()[-500:]}
    return json.loads(r.stdout)


def build_models(torch):
    nn = torch.nn

    def reference_cnn():
        return nn.Sequential(
            nn.Conv2d(1, 32, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(32, 64, 3), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(1600, 128), nn.ReLU(), nn.Linear(128, 10),
        )

    class BasicBlock(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.shortcut = nn.Sequential()
            if stride != 1 or cin != cout:
                self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

        def forward(self, x):
            y = torch.relu(self.bn1(self.conv1(x)))
            y = self.bn2(self.conv2(y))
            return torch.relu(y + self.shortcut(x))

    class ResNet18Cifar(nn.Module):
        """torchvision's resnet18 with the CIFAR stem: 3x3 conv, stride 1, no max-pool."""

        def __init__(self, num_classes=10):
            super().__init__()
            self.stem = nn.Sequential(nn.Conv2d(3, 64, 3, 1, 1, bias=False), nn.BatchNorm2d(64), nn.ReLU())
            layers, cin = [], 64
            for cout, stride in ((64, 1), (128, 2), (256, 2), (512, 2)):
                layers += [BasicBlock(cin, cout, stride), BasicBlock(cout, cout, 1)]
                cin = cout
            self.layers = nn.Sequential(*layers)
            self.fc = nn.Linear(512, num_classes)

        def forward(self, x):
            x = self.layers(self.stem(x))
            return self.fc(torch.flatten(torch.nn.functional.adaptive_avg_pool2d(x, 1), 1))

    return reference_cnn, ResNet18Cifar


def train_images_per_s(torch, model, shape, batch, warmup, reps):
    g = torch.Generator().manual_seed(0)
    x = torch.randn((batch, *shape), generator=g)
    y = torch.randint(0, 10, (batch,), generator=g)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = torch.nn.CrossEntropyLoss()
    model.train()

    def step():
        out = model(x)
        loss = loss_fn(out, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        loss.item()

    return {"batch": batch, "seconds": sample(step, warmup, reps, 0.2)}


def infer_images_per_s(torch, model, shape, batch, warmup, reps):
    x = torch.randn((batch, *shape), generator=torch.Generator().manual_seed(1))
    model.eval()

    def step():
        with torch.no_grad():
            model(x)

    return {"batch": batch, "seconds": sample(step, warmup, reps, 0.2)}


def main():
    a = parse_args()
    if a.sgemm_only:
        print(json.dumps(sgemm_child(a.threads, a.quick)))
        return
    result = {"python": sys.version.split()[0], "threads": a.threads}
    result["sgemm"] = [run_sgemm(t, a.quick) for t in sorted({1, a.threads})]

    import torch

    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    result["torch"] = torch.__version__
    result["torch_threads"] = torch.get_num_threads()
    reference_cnn, ResNet18Cifar = build_models(torch)
    reps = 3 if a.quick else 10
    result["reference_cnn_train"] = train_images_per_s(torch, reference_cnn(), (1, 28, 28), 64, 3, reps)
    result["reference_cnn_infer"] = infer_images_per_s(torch, reference_cnn(), (1, 28, 28), 256, 3, reps)
    if not a.skip_resnet:
        result["resnet18_cifar_train"] = train_images_per_s(
            torch, ResNet18Cifar(), (3, 32, 32), 32, 1 if a.quick else 2, 2 if a.quick else 5
        )
    if a.onnx_out:
        model = reference_cnn().eval()
        torch.onnx.export(
            model, torch.randn(1, 1, 28, 28), a.onnx_out, input_names=["input"], output_names=["logits"],
            dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}}, opset_version=13,
        )
        result["onnx"] = a.onnx_out
    print(json.dumps(result))


if __name__ == "__main__":
    main()
