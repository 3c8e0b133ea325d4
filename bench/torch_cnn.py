#!/usr/bin/python3
"""bench/torch_cnn.py - the SecureAFL paper's CNN in PyTorch, on one thread, for aflsim-bench's
side-by-side section: the median batch-32 training step (forward, cross-entropy, backward; no
optimizer step, like afl_net_loss_grad) and the evaluation of 10,000 28x28 images (batches of
--eval-batch, no_grad, argmax and loss).

Run by build/aflsim-bench with Debian's /usr/bin/python3 (package python3-torch). Prints
key=value lines; `torch=missing` when torch cannot be imported.
"""
import argparse
import statistics
import sys
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=400)
    ap.add_argument("--evals", type=int, default=5)
    ap.add_argument("--eval-batch", type=int, default=1000)
    a = ap.parse_args()
    try:
        import torch
        from torch import nn
    except ImportError:
        print("torch=missing")
        return 0
    torch.set_num_threads(1)
    torch.manual_seed(0)
    net = nn.Sequential(
        nn.Conv2d(1, 30, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(30, 50, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(1250, 100), nn.ReLU(), nn.Linear(100, 10))
    loss_fn = nn.CrossEntropyLoss()
    x = torch.randn(32, 1, 28, 28)
    y = torch.randint(0, 10, (32,))

    def step():
        for p in net.parameters():
            p.grad = None
        loss_fn(net(x), y).backward()

    for _ in range(20):
        step()
    times = []
    for _ in range(a.steps):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)

    xt = torch.randn(10000, 1, 28, 28)
    yt = torch.randint(0, 10, (10000,))
    sum_loss = nn.CrossEntropyLoss(reduction="sum")

    def evaluate():
        correct, total = 0, 0.0
        with torch.no_grad():
            for xb, yb in zip(xt.split(a.eval_batch), yt.split(a.eval_batch)):
                z = net(xb)
                total += float(sum_loss(z, yb))
                correct += int((z.argmax(1) == yb).sum())
        return correct, total

    evaluate()
    etimes = []
    for _ in range(a.evals):
        t0 = time.perf_counter()
        evaluate()
        etimes.append(time.perf_counter() - t0)
    cap = "?"
    for line in torch.__config__.show().splitlines():
        if "CPU capability usage" in line:
            cap = line.split(":", 1)[1].strip()
    print("torch=%s" % torch.__version__)
    print("threads=%d" % torch.get_num_threads())
    print("params=%d" % sum(p.numel() for p in net.parameters()))
    print("mkldnn=%s" % torch.backends.mkldnn.is_available())
    print("cpu_capability=%s" % cap)
    print("train_step_ms=%.6f" % (1e3 * statistics.median(times)))
    print("train_step_min_ms=%.6f" % (1e3 * min(times)))
    print("eval_s=%.6f" % statistics.median(etimes))
    print("eval_batch=%d" % a.eval_batch)
    return 0


if __name__ == "__main__":
    sys.exit(main())
