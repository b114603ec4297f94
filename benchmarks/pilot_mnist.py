"""Training pilot on full MNIST (Serra et al. 2021, Section 6): how long an epoch takes and when the objective plateaus.

Sizes Chapter 3 at the paper's scale. Trains the paper's 2 x 100 ReLU classifier on the 60,000 training images with
its optimiser (SGD, learning rate 0.01, momentum 0.9, batches of 128) through
:func:`nncompress.train.train_classifier`, at a few l1 values:

* at a **constant** learning rate (no step decay), so that the training objective's curve shows when it plateaus;
* once with the library's step decay (x0.1 after 50 % and 75 % of the epochs) at the same number of epochs, for the
  test accuracy the chapter's schedule would reach;
* optionally on Fashion-MNIST (``--fashion-epochs``), the harder stand-in for CIFAR-10.

For each run it reports the seconds per epoch (one CPU thread, as the library trains), the training objective per
epoch, the plateau epoch (the first epoch after which the objective never falls by more than ``tol`` relative, for a
few tolerances, within the epochs run) and the final train and test accuracy. Figures go to
``benchmarks/results/pilot_mnist.json``. ``--quick`` runs one epoch of one network.

    python benchmarks/pilot_mnist.py [--epochs 30] [--l1 0 2e-4 1e-3] [--schedule-l1 2e-4] [--fashion-epochs 10]
"""

from __future__ import annotations

import argparse
from typing import Any, Sequence

import numpy as np

from _timing import add_out_argument, run_info, time_once, write_json
from nncompress.data import load_dataset
from nncompress.train import TrainSettings, activation_summary, train_classifier

#: Relative tolerances for the plateau epoch.
TOLERANCES = (0.05, 0.02, 0.01)


def plateau_epoch(objective: Sequence[float], tol: float) -> int:
    """The first epoch (1-based) whose objective no later epoch undercuts by more than ``tol`` (relative).

    With ``L`` the objective per epoch, the smallest ``e`` with ``min(L[e:]) >= (1 - tol) * L[e - 1]``: after
    epoch ``e`` training lowers the objective by less than ``tol`` of its value, within the epochs run (the last
    epoch always qualifies, so a curve still falling at the end gives the number of epochs run).
    """
    L = np.asarray(objective, dtype=np.float64)
    if L.ndim != 1 or len(L) == 0:
        raise ValueError("objective must be a non-empty 1-d sequence")
    later_min = np.minimum.accumulate(L[::-1])[::-1]  # later_min[k] = min(L[k:])
    for e in range(1, len(L) + 1):
        if e == len(L) or later_min[e] >= (1 - tol) * L[e - 1]:
            return e
    return len(L)  # not reached


def run(dataset: str, l1: float, epochs: int, schedule: bool, seed: int) -> dict[str, Any]:
    data = load_dataset(dataset)
    milestones = (0.5, 0.75) if schedule else ()
    settings = TrainSettings(dataset, (100, 100), l1, epochs, seed, milestones=milestones)
    seconds, result = time_once(lambda: train_classifier(settings, data, progress=False))
    record = dict(
        dataset=dataset, arch="2x100", l1=l1, epochs=epochs, seed=seed,
        schedule="step decay x0.1 at 50% and 75%" if schedule else "constant lr 0.01",
        seconds=seconds, seconds_per_epoch=result.seconds / epochs,
        train_accuracy=result.train_accuracy, test_accuracy=result.test_accuracy,
        objective=result.loss_history, cross_entropy=result.ce_history,
        plateau_epoch={f"{tol:g}": plateau_epoch(result.loss_history, tol) for tol in TOLERANCES},
    )
    # data-only activity (an unproven proxy for stability): how sparse the l1 penalty made the network
    summary = activation_summary(result.weights, result.biases, data.X_train)
    record["hidden_never_active"] = summary["never_active"]
    record["hidden_always_active"] = summary["always_active"]
    print(f"{dataset} 2x100 l1={l1:g} {record['schedule']}, {epochs} epochs: "
          f"{record['seconds_per_epoch']:.2f} s/epoch, "
          f"objective {result.loss_history[0]:.4f} -> {result.loss_history[-1]:.4f}, plateau (5/2/1 %) at "
          f"{'/'.join(str(v) for v in record['plateau_epoch'].values())}, train {result.train_accuracy:.4f}, "
          f"test {result.test_accuracy:.4f}, never/always active {summary['never_active']:.2f}/"
          f"{summary['always_active']:.2f}", flush=True)
    return record


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=30, help="epochs of every MNIST run (default 30)")
    parser.add_argument("--l1", type=float, nargs="+", default=[0.0, 2e-4, 1e-3],
                        help="l1 values trained at a constant learning rate (default 0 2e-4 1e-3)")
    parser.add_argument("--schedule-l1", type=float, nargs="*", default=[2e-4],
                        help="l1 values also trained with the step decay (default 2e-4)")
    parser.add_argument("--fashion-epochs", type=int, default=10,
                        help="epochs of a Fashion-MNIST run at l1 = 0, constant lr (0: none; default 10)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="one epoch of one network (a smoke run)")
    add_out_argument(parser, "pilot_mnist")
    args = parser.parse_args(argv)
    if args.quick:
        args.epochs, args.l1, args.schedule_l1, args.fashion_epochs = 1, [2e-4], [], 0
    runs = [run("mnist", l1, args.epochs, False, args.seed) for l1 in args.l1]
    runs += [run("mnist", l1, args.epochs, True, args.seed) for l1 in args.schedule_l1]
    if args.fashion_epochs:
        runs.append(run("fashion_mnist", 0.0, args.fashion_epochs, False, args.seed))
    import torch

    record = dict(run_info(), torch=torch.__version__, threads=1, batch_size=128, lr=0.01, momentum=0.9,
                  tolerances=TOLERANCES, runs=runs, total_seconds=sum(r["seconds"] for r in runs))
    print(f"total training time {record['total_seconds']:.0f} s; written to {write_json(args.out, record)}")


if __name__ == "__main__":
    main()
