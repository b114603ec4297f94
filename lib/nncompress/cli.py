"""Command line: the book's operations on your own networks, without a notebook.

Subcommands (``nncompress SUBCOMMAND --help`` for each)::

    nncompress tanh-rank MODEL                      rank of a tanh network (Algorithm 4.2)
    nncompress tanh-compress MODEL --out FILE       optimal lossless compression (Algorithm 4.1)
    nncompress relu-stable MODEL --lower L --upper U [--data X.npy] [--out FILE]
                                                    stable neurons of a ReLU MLP over a box, and LEO++
    nncompress relu-equivalent MODEL1 MODEL2        are two two-layer ReLU networks equivalent? which symmetry?

Model files: ``.npz`` archives of arrays, or ``.pt``/``.pth`` files holding a whole ``torch.nn.Sequential`` saved
with ``torch.save(model, path)`` (unpickled: load only files you trust).

* tanh networks: ``.npz`` with ``a`` (h, m), ``b`` (h, n), ``c`` (h,), ``d`` (m,); or Sequential(Linear, Tanh, Linear).
* ReLU MLPs: ``.npz`` with ``weights_0, biases_0, weights_1, ...`` (torch's (out, in) convention); or
  Sequential(Linear, ReLU, ..., Linear).
* two-layer ReLU networks: ``.npz`` with ``w`` (h, n), ``b`` (h,), ``q`` (h,), ``c`` (scalar); or
  Sequential(Linear(n, h), ReLU, Linear(h, 1)).

Exit codes: 0 success (and "equivalent" / "complete"); 1 a negative answer (not equivalent; stability analysis
incomplete within the time limit); 2 bad usage or a bad file (missing, unreadable, wrong shapes, NaN).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

import numpy as np

__all__ = ["main", "load_arrays"]


class InputError(Exception):
    """A problem with the user's files or arguments (exit code 2)."""


def load_arrays(path: str) -> dict[str, np.ndarray] | Any:
    """The arrays of an ``.npz`` file as a dict, or the module in a ``.pt``/``.pth`` file."""
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as data:
                return {k: data[k] for k in data.files}
        except Exception as exc:  # zip or format errors
            raise InputError(f"{path}: not a readable .npz archive ({exc})") from exc
    if p.suffix in (".pt", ".pth"):
        import torch

        try:
            return torch.load(p, weights_only=False, map_location="cpu")
        except Exception as exc:
            raise InputError(f"{path}: not a readable torch file ({exc})") from exc
    raise InputError(f"{path}: unknown file type {p.suffix!r} (use .npz, .pt or .pth)")


def _need(arrays: dict[str, np.ndarray], names: Sequence[str], path: str) -> list[np.ndarray]:
    missing = [k for k in names if k not in arrays]
    if missing:
        raise InputError(f"{path}: missing array(s) {', '.join(missing)} (found {', '.join(sorted(arrays)) or 'none'})")
    return [arrays[k] for k in names]


def _tanh_network(path: str) -> Any:
    from .tanh import TanhNetwork

    obj = load_arrays(path)
    try:
        if isinstance(obj, dict):
            return TanhNetwork(*_need(obj, ("a", "b", "c", "d"), path))
        return TanhNetwork.from_torch(obj)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: {exc}") from exc


def _relu_mlp(path: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    from .stability import check_mlp, from_torch

    obj = load_arrays(path)
    try:
        if isinstance(obj, dict):
            n = len([k for k in obj if k.startswith("weights_")])
            names_w, names_b = [f"weights_{l}" for l in range(n)], [f"biases_{l}" for l in range(n)]
            return check_mlp(_need(obj, names_w, path), _need(obj, names_b, path))
        return from_torch(obj)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: {exc}") from exc


def _two_layer_relu(path: str) -> Any:
    from .relu_symmetry import ReluNetwork

    obj = load_arrays(path)
    try:
        if isinstance(obj, dict):
            w, b, q, c = _need(obj, ("w", "b", "q", "c"), path)
            return ReluNetwork(w, b, q, float(np.asarray(c).reshape(-1)[0]))
        return ReluNetwork.from_torch(obj)
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: {exc}") from exc


def _save(path: str, arrays: dict[str, np.ndarray], module: Any) -> None:
    p = Path(path)
    if p.suffix == ".npz":
        np.savez(p, **arrays)
    elif p.suffix in (".pt", ".pth"):
        import torch

        torch.save(module, p)
    else:
        raise InputError(f"{path}: unknown output type {p.suffix!r} (use .npz, .pt or .pth)")


def _cmd_tanh_rank(args: argparse.Namespace) -> int:
    from .tanh import rank

    net = _tanh_network(args.model)
    print(rank(net, atol=args.atol))
    return 0


def _cmd_tanh_compress(args: argparse.Namespace) -> int:
    from .tanh import compress

    net = _tanh_network(args.model)
    small = compress(net, atol=args.atol)
    _save(args.out, dict(a=small.a, b=small.b, c=small.c, d=small.d), small.to_torch())
    print(f"{net.width} units -> {small.width} units (rank {small.width}); written to {args.out}")
    return 0


def _floats(text: str) -> np.ndarray:
    try:
        return np.array([float(v) for v in text.split(",")])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from exc


def _cmd_relu_stable(args: argparse.Namespace) -> int:
    from .stability import compress_with_report, find_stable_neurons, to_torch

    weights, biases = _relu_mlp(args.model)
    lower = args.lower if len(args.lower) > 1 else float(args.lower[0])
    upper = args.upper if len(args.upper) > 1 else float(args.upper[0])
    X = None
    if args.data:
        if not Path(args.data).is_file():
            raise InputError(f"{args.data}: no such file")
        X = np.load(args.data, allow_pickle=False)
    try:
        report = find_stable_neurons(weights, biases, lower, upper, X=X, method=args.method,
                                     time_limit=args.time_limit, progress=not args.quiet)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    print(report.summary())
    if args.out:
        result = compress_with_report(weights, biases, report)
        arrays = {f"weights_{l}": w for l, w in enumerate(result.weights)}
        arrays.update({f"biases_{l}": b for l, b in enumerate(result.biases)})
        _save(args.out, arrays, to_torch(result.weights, result.biases))
        print(f"removed {sum(result.removed_neurons)} of {sum(len(b) for b in biases[:-1])} hidden neurons and "
              f"{result.removed_connections} of {sum(w.size for w in weights)} connections; written to {args.out}")
    return 0 if report.complete else 1


def _cmd_relu_equivalent(args: argparse.Namespace) -> int:
    from .relu_symmetry import classify

    model, truth = _two_layer_relu(args.model1), _two_layer_relu(args.model2)
    try:
        report = classify(model, truth, atol=args.atol)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    print(report)
    return 0 if report.equivalent else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nncompress", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter,
                                     epilog="Exit codes: 0 success, 1 negative answer, 2 bad usage or bad file.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("tanh-rank", help="rank of a single-hidden-layer tanh network (Algorithm 4.2)")
    p.add_argument("model", help=".npz with a, b, c, d or a .pt Sequential(Linear, Tanh, Linear)")
    p.add_argument("--atol", type=float, default=0.0, help="tolerance (default 0: exact)")
    p.set_defaults(run=_cmd_tanh_rank)

    p = sub.add_parser("tanh-compress", help="optimal lossless compression of a tanh network (Algorithm 4.1)")
    p.add_argument("model", help=".npz with a, b, c, d or a .pt Sequential(Linear, Tanh, Linear)")
    p.add_argument("--out", required=True, help="output file (.npz or .pt)")
    p.add_argument("--atol", type=float, default=0.0, help="tolerance (default 0: exact)")
    p.set_defaults(run=_cmd_tanh_compress)

    p = sub.add_parser("relu-stable", help="stable neurons of a ReLU MLP over a box, and LEO++ compression")
    p.add_argument("model", help=".npz with weights_0, biases_0, ... or a .pt Sequential of Linear/ReLU")
    p.add_argument("--lower", type=_floats, required=True, help="lower corner of the input box (number or list)")
    p.add_argument("--upper", type=_floats, required=True, help="upper corner of the input box (number or list)")
    p.add_argument("--data", help=".npy array (N, n_0) of inputs in the box, used for preprocessing")
    p.add_argument("--method", default="pipeline", choices=("pipeline", "isa", "baseline"))
    p.add_argument("--time-limit", type=float, default=None, help="seconds; unproven neurons stay unknown")
    p.add_argument("--out", help="write the compressed network here (.npz or .pt)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_relu_stable)

    p = sub.add_parser("relu-equivalent", help="are two two-layer ReLU networks equivalent on R^n? which symmetry?")
    p.add_argument("model1", help=".npz with w, b, q, c or a .pt Sequential(Linear, ReLU, Linear)")
    p.add_argument("model2", help="the same, for the second network (the 'truth')")
    p.add_argument("--atol", type=float, default=1e-9, help="tolerance (default 1e-9)")
    p.set_defaults(run=_cmd_relu_equivalent)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code (0 success, 1 negative answer, 2 bad usage or file)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except InputError as exc:
        print(f"nncompress: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
