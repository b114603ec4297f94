"""Command line: the book's operations on your own networks, without a notebook.

Subcommands (``nncompress SUBCOMMAND --help`` for each)::

    nncompress tanh-rank MODEL                      rank of a tanh network (Algorithm 4.2)
    nncompress tanh-compress MODEL --out FILE       optimal lossless compression (Algorithm 4.1)
    nncompress relu-stable MODEL --lower L --upper U [--data X.npy] [--time-limit S] [--device D] [--out FILE]
                                                    stable neurons of a ReLU MLP over a box, and LEO++
    nncompress relu-equivalent MODEL1 MODEL2        are two two-layer ReLU networks equivalent? which symmetry?

Model files, and how they are read (loading never runs code from the file):

* ``.npz`` archives of numeric arrays, read with ``numpy.load(..., allow_pickle=False)``;
* ``.pt``/``.pth`` files written by ``torch.save``, holding a **state dict** (``model.state_dict()``: names such as
  ``0.weight``, ``0.bias``, ``2.weight``, ... mapped to tensors) or a **whole** ``torch.nn.Sequential`` built only
  from ``Linear``, ``ReLU``, ``Tanh``, ``Flatten`` and ``Identity`` layers. They are read with
  ``torch.load(..., weights_only=True)`` and an allow-list of exactly these module classes: a file that needs
  anything else (another class, a function, a pickle with embedded code) is refused before any of it runs.

What each command expects:

* tanh networks: ``.npz`` with ``a`` (h, m), ``b`` (h, n), ``c`` (h,), ``d`` (m,); or Sequential(Linear, Tanh, Linear)
  or its state dict.
* ReLU MLPs: ``.npz`` with ``weights_0, biases_0, weights_1, ...`` (torch's (out, in) convention); or
  Sequential(Linear, ReLU, ..., Linear) or its state dict.
* two-layer ReLU networks: ``.npz`` with ``w`` (h, n), ``b`` (h,), ``q`` (h,), ``c`` (a single number: shape () or
  (1,)); or Sequential(Linear(n, h), ReLU, Linear(h, 1)) or its state dict.
* ``--data``: a ``.npy`` file holding one array (N, n_0) of real numbers inside the box (``allow_pickle=False``).

Output files (``--out``, ``.npz`` or ``.pt``/``.pth``): the output path is checked before any work; an existing
file is replaced only with ``--force``; an input file is never overwritten (also not through a symbolic link or
a hard link); the result is written to a temporary file in the same folder and renamed over ``--out``, so a
failed write leaves no partial file. ``.pt`` outputs hold an ``nn.Sequential`` that this command reads back;
read them elsewhere with ``torch.load(path, weights_only=True)`` inside
``torch.serialization.safe_globals([nn.Sequential, nn.Linear, nn.ReLU, nn.Tanh])``.

Time limit: ``relu-stable`` stops after ``--time-limit`` seconds (default 300,
:data:`~nncompress.cli.DEFAULT_TIME_LIMIT`). Every phase of the analysis holds it; neurons not proven stable by
then are reported unknown, never stable, and the exit code is 1. ``--time-limit 0`` calls no solver (interval
bounds, the first layer's box corners and a first block of the data only); ``--time-limit none`` removes the limit.

Exit codes: 0 success (and "equivalent" / "complete"); 1 a negative answer (not equivalent; stability analysis
incomplete, e.g. at the time limit); 2 bad usage, a bad or unsafe file, or a failure to read or write one, always
with a one-line message on stderr and no traceback.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import sys
import tempfile
import textwrap
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from .units import DEFAULT_RTOL

__all__ = ["main", "load_arrays", "build_parser", "DEFAULT_TIME_LIMIT", "SAFE_MODULES"]

#: Seconds ``relu-stable`` spends at most on the analysis unless ``--time-limit`` says otherwise.
DEFAULT_TIME_LIMIT: float = 300.0
#: Names of the ``torch.nn`` classes a ``.pt``/``.pth`` model file may contain (the allow-list of ``torch.load``).
SAFE_MODULES: tuple[str, ...] = ("Sequential", "Linear", "ReLU", "Tanh", "Flatten", "Identity")


class InputError(Exception):
    """A problem with the user's files or arguments (exit code 2)."""


def _one_line(text: Any) -> str:
    """Collapse a message to one line (exception texts may span several)."""
    return " ".join(str(text).split())


# ------------------------------------------------------------------------------------------------ reading files


def _safe_globals() -> list[Any]:
    from torch import nn

    return [getattr(nn, name) for name in SAFE_MODULES]


def _torch_load(p: Path) -> Any:
    """``torch.load`` that cannot run code: weights only, plus the allow-listed module classes."""
    import pickle
    import warnings

    import torch

    try:
        with warnings.catch_warnings(), torch.serialization.safe_globals(_safe_globals()):
            warnings.simplefilter("ignore")  # torch's notes on pickle protocols would add lines to stderr
            return torch.load(p, weights_only=True, map_location="cpu")
    except pickle.UnpicklingError as exc:
        needed = re.search(r"GLOBAL ([\w.]+)", str(exc))
        what = f" ({needed.group(1)})" if needed else " (an unsupported pickle instruction)"
        raise InputError(f"{p}: refused: the file needs something other than tensors and the allowed layers "
                         f"{', '.join(SAFE_MODULES)}{what}; nothing in it was run. Save the model's state dict "
                         "(torch.save(model.state_dict(), path)) or an nn.Sequential of those layers") from exc
    except Exception as exc:  # zip, format, truncation, unknown storage types
        raise InputError(f"{p}: not a readable torch file ({_one_line(exc) or type(exc).__name__})") from exc


def load_arrays(path: str) -> dict[str, np.ndarray] | Any:
    """The contents of a model file, read without running any code from it.

    Parameters
    ----------
    path : str
        An ``.npz`` archive (read with ``allow_pickle=False``), or a ``.pt``/``.pth`` file from ``torch.save``
        (read with ``torch.load(weights_only=True)``, which runs no code from the file).

    Returns
    -------
    dict or torch.nn.Sequential or Mapping
        The arrays of an ``.npz`` file as a dict; for a torch file, the state dict or the ``nn.Sequential``.

    Raises
    ------
    InputError
        If the file is missing, unreadable, of another type, or needs anything beyond the allow-list.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    if p.suffix == ".npz":
        try:
            with np.load(p, allow_pickle=False) as data:
                if not hasattr(data, "files"):
                    raise ValueError("it holds a single array, not an archive")
                return {k: data[k] for k in data.files}
        except Exception as exc:  # zip or format errors, object arrays
            raise InputError(f"{path}: not a readable .npz archive of numeric arrays ({_one_line(exc)})") from exc
    if p.suffix in (".pt", ".pth"):
        return _torch_load(p)
    raise InputError(f"{path}: unknown file type {p.suffix!r} (use .npz, .pt or .pth)")


def _need(arrays: dict[str, np.ndarray], names: Sequence[str], path: str) -> list[np.ndarray]:
    missing = [k for k in names if k not in arrays]
    if missing:
        raise InputError(f"{path}: missing array(s) {', '.join(missing)} (found {', '.join(sorted(arrays)) or 'none'})")
    return [arrays[k] for k in names]


def _natural(key: str) -> list[Any]:
    """Sort key for parameter names: '10.weight' after '2.weight'."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part) for part in key.split(".")]


def _linear_layers(state: Mapping[str, Any], path: str) -> list[tuple[np.ndarray, np.ndarray]]:
    """The (weight, bias) pairs of a state dict of Linear layers, in the order of their names (a layer without
    bias, ``bias=False``, has a zero bias, as in :func:`nncompress.torch_io.sequential_to_layers`)."""
    import torch

    groups: dict[str, dict[str, Any]] = {}
    for key, value in state.items():
        if not isinstance(key, str) or "." not in key or not isinstance(value, torch.Tensor):
            raise InputError(f"{path}: not a state dict of Linear layers (entry {key!r} of type "
                             f"{type(value).__name__})")
        prefix, name = key.rsplit(".", 1)
        groups.setdefault(prefix, {})[name] = value
    if not groups:
        raise InputError(f"{path}: the state dict is empty")
    layers = []
    for prefix in sorted(groups, key=_natural):
        entry = groups[prefix]
        if set(entry) not in ({"weight", "bias"}, {"weight"}):
            raise InputError(f"{path}: layer {prefix!r} has {', '.join(sorted(entry))}; expected the weight (and "
                             "bias) of a Linear layer")
        w = entry["weight"]
        b = entry.get("bias", torch.zeros(w.shape[0], dtype=w.dtype) if w.ndim == 2 else w)  # bias=False: zero bias
        if not (w.dtype.is_floating_point and b.dtype.is_floating_point):
            raise InputError(f"{path}: layer {prefix!r} holds {w.dtype} / {b.dtype} tensors; expected floats")
        if w.ndim != 2 or b.shape != (w.shape[0],):
            raise InputError(f"{path}: layer {prefix!r} has weight {tuple(w.shape)} and bias {tuple(b.shape)}; "
                             "expected (out, in) and (out,)")
        layers.append((w.detach().cpu().double().numpy(), b.detach().cpu().double().numpy()))
    return layers


def _as_module(obj: Any, activation_name: str, path: str) -> Any:
    """A loaded torch object as an ``nn.Sequential``: modules pass through, state dicts are rebuilt."""
    from torch import nn

    from .torch_io import layers_to_sequential

    if isinstance(obj, nn.Module):
        return obj
    if isinstance(obj, Mapping):
        layers = _linear_layers(obj, path)
        return layers_to_sequential([w for w, _ in layers], [b for _, b in layers],
                                    [activation_name] * (len(layers) - 1) + ["identity"])
    raise InputError(f"{path}: holds a {type(obj).__name__}, not a state dict or an nn.Sequential")


def _tanh_network(path: str) -> Any:
    from .tanh import TanhNetwork

    obj = load_arrays(path)
    try:
        if isinstance(obj, dict) and Path(path).suffix == ".npz":
            return TanhNetwork(*_need(obj, ("a", "b", "c", "d"), path))
        return TanhNetwork.from_torch(_as_module(obj, "tanh", path))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: {exc}") from exc


def _relu_mlp(path: str) -> tuple[list[np.ndarray], list[np.ndarray]]:
    from .stability import check_mlp, from_torch

    obj = load_arrays(path)
    try:
        if isinstance(obj, dict) and Path(path).suffix == ".npz":
            n = len([k for k in obj if k.startswith("weights_")])
            names_w, names_b = [f"weights_{l}" for l in range(n)], [f"biases_{l}" for l in range(n)]
            return check_mlp(_need(obj, names_w, path), _need(obj, names_b, path))
        return from_torch(_as_module(obj, "relu", path))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: {exc}") from exc


def _two_layer_relu(path: str) -> Any:
    from .relu_symmetry import ReluNetwork

    obj = load_arrays(path)
    try:
        if isinstance(obj, dict) and Path(path).suffix == ".npz":
            w, b, q, c = _need(obj, ("w", "b", "q", "c"), path)
            c = np.asarray(c)
            if c.size != 1 or c.ndim > 1:
                raise InputError(f"{path}: c must be a single number (shape () or (1,)), got shape {c.shape}")
            return ReluNetwork(w, b, q, c)
        return ReluNetwork.from_torch(_as_module(obj, "relu", path))
    except (ValueError, TypeError) as exc:
        raise InputError(f"{path}: {exc}") from exc


def _load_data(path: str, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    """The ``--data`` array (N, n_0): a ``.npy`` file of real numbers inside the box, read without pickles."""
    from ._validation import as_float_array

    p = Path(path)
    if not p.is_file():
        raise InputError(f"{path}: no such file")
    if p.suffix != ".npy":
        raise InputError(f"{path}: --data must be a .npy file holding one array (N, {len(lower)}), "
                         f"not {p.suffix or 'a file without suffix'}")
    try:
        X = np.load(p, allow_pickle=False)
    except Exception as exc:  # empty, truncated, text, pickled objects
        reason = _one_line(exc) or type(exc).__name__
        if "pickle" in reason.lower():
            reason = "it is not a plain .npy array; pickled data is never loaded"
        raise InputError(f"{path}: not a readable .npy array of numbers ({reason})") from exc
    if not isinstance(X, np.ndarray):
        if hasattr(X, "close"):
            X.close()
        raise InputError(f"{path}: --data must hold one array (N, {len(lower)}), not an .npz archive")
    try:
        X = as_float_array(X, "--data", shape=(None, len(lower)))
    except (TypeError, ValueError) as exc:
        raise InputError(f"{path}: {exc}") from exc
    if len(X) == 0:
        raise InputError(f"{path}: --data holds no rows")
    outside = np.any((X < lower) | (X > upper), axis=1)
    if outside.any():
        raise InputError(f"{path}: {int(outside.sum())} of {len(X)} rows of --data lie outside the box "
                         f"[lower, upper] (first: row {int(np.flatnonzero(outside)[0])})")
    return X


# ------------------------------------------------------------------------------------------------ writing files


def _same_file(a: str, b: str) -> bool:
    """Do two paths name the same file (through symbolic links, or as hard links)?"""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


def _check_out(out: str, inputs: Sequence[str], force: bool) -> None:
    """Refuse an output path that cannot or must not be written, before any work is done."""
    p = Path(out)
    for source in inputs:
        if source and _same_file(out, source):
            raise InputError(f"{out}: refusing to overwrite the input file {source}")
    if p.suffix not in (".npz", ".pt", ".pth"):
        raise InputError(f"{out}: unknown output type {p.suffix!r} (use .npz, .pt or .pth)")
    if p.is_dir():
        raise InputError(f"{out}: is a directory")
    parent = p.parent
    if not parent.is_dir():
        raise InputError(f"{out}: the folder {parent} does not exist")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise InputError(f"{out}: cannot write in the folder {parent} (permission denied)")
    if os.path.lexists(out) and not force:
        raise InputError(f"{out}: exists; use --force to replace it")


def _write(out: str, writer: Callable[[Any], None]) -> None:
    """Write through ``writer(handle)`` to a temporary file next to ``out``, then rename it over ``out``.

    The temporary file is removed on any failure, so ``out`` is either the complete new file or untouched.
    """
    p = Path(out)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=p.parent, prefix=f".{p.name}.", suffix=".tmp")
        with os.fdopen(fd, "wb") as handle:
            writer(handle)
            handle.flush()
            os.fsync(handle.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
        os.replace(tmp, p)
        tmp = None
    except OSError as exc:
        raise InputError(f"{out}: cannot write ({exc.strerror or _one_line(exc)})") from exc
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def _save(path: str, arrays: dict[str, np.ndarray], module: Any) -> None:
    if Path(path).suffix == ".npz":
        _write(path, lambda handle: np.savez(handle, **arrays))
    else:
        import torch

        _write(path, lambda handle: torch.save(module, handle))


# ----------------------------------------------------------------------------------------------------- commands


def _cmd_tanh_rank(args: argparse.Namespace) -> int:
    from .tanh import rank

    net = _tanh_network(args.model)
    print(rank(net, atol=args.atol))
    return 0


def _cmd_tanh_compress(args: argparse.Namespace) -> int:
    from .tanh import compress

    _check_out(args.out, [args.model], args.force)
    net = _tanh_network(args.model)
    small = compress(net, atol=args.atol)
    _save(args.out, dict(a=small.a, b=small.b, c=small.c, d=small.d), small.to_torch())
    print(f"{net.width} units -> {small.width} units (rank {small.width}); written to {args.out}")
    return 0


def _cmd_relu_stable(args: argparse.Namespace) -> int:
    from .stability import check_box, compress_with_report, find_stable_neurons, to_torch

    if args.out:
        _check_out(args.out, [args.model, args.data], args.force)
    weights, biases = _relu_mlp(args.model)
    if len(weights) < 2:
        raise InputError(f"{args.model}: the network has no hidden layer")
    try:
        lower, upper = check_box(args.lower if len(args.lower) > 1 else float(args.lower[0]),
                                 args.upper if len(args.upper) > 1 else float(args.upper[0]), weights[0].shape[1])
    except (ValueError, TypeError) as exc:
        raise InputError(f"--lower/--upper: {exc}") from exc
    X = _load_data(args.data, lower, upper) if args.data else None
    try:
        report = find_stable_neurons(weights, biases, lower, upper, X=X, method=args.method,
                                     time_limit=args.time_limit, progress=not args.quiet, device=args.device)
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc)) from exc
    print(report.summary())
    if report.timed_out:
        print(f"time limit of {args.time_limit:g} s reached: {sum(len(u) for u in report.unknown)} neuron(s) stay "
              "unknown (never counted as stable); raise --time-limit to prove more")
    if args.out:
        result = compress_with_report(weights, biases, report, lower=lower, upper=upper)
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
        report = classify(model, truth, atol=args.atol, rtol=args.rtol)
    except (ValueError, TypeError) as exc:
        raise InputError(str(exc)) from exc
    print(report)
    return 0 if report.equivalent else 1


# ------------------------------------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse with usage errors on one line (exit code 2)."""

    def error(self, message: str) -> Any:  # type: ignore[override]
        usage = _one_line(self.format_usage())
        self.exit(2, f"{self.prog}: error: {_one_line(message)} ({usage})\n")


def _floats(text: str) -> np.ndarray:
    try:
        values = np.array([float(v) for v in text.split(",")])
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number or comma-separated numbers, got {text!r}") from exc
    if not np.all(np.isfinite(values)):
        raise argparse.ArgumentTypeError(f"expected finite numbers, got {text!r}")
    return values


def _tolerance(text: str) -> float:
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from exc
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def _time_limit(text: str) -> float | None:
    if text.strip().lower() in ("none", "inf", "infinity", "unlimited"):
        return None
    try:
        value = float(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected seconds (a number >= 0) or 'none', got {text!r}") from exc
    if math.isnan(value) or value < 0:
        raise argparse.ArgumentTypeError(f"expected seconds (a number >= 0) or 'none', got {text!r}")
    return None if math.isinf(value) else value


_MODEL_FILES = ("Model files are read without running code from them: .npz archives (allow_pickle=False), or "
                ".pt/.pth files holding a state dict or an nn.Sequential of Linear/ReLU/Tanh/Flatten/Identity, read "
                "with torch.load(weights_only=True) and that allow-list; anything else is refused (exit 2).")
_OUT_FILES = ("--out is checked before any work, never overwrites an input file (also through links), replaces an "
              "existing file only with --force, and is written to a temporary file then renamed.")
_EXIT_CODES = "Exit codes: 0 success, 1 negative answer, 2 bad usage or a bad, unsafe or unwritable file."


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``nncompress`` and its four subcommands."""
    parser = _Parser(prog="nncompress", description=__doc__.split("\n\n")[0],
                     formatter_class=argparse.RawDescriptionHelpFormatter,
                     epilog=f"{textwrap.fill(_MODEL_FILES, 100)}\n\n{textwrap.fill(_OUT_FILES, 100)}\n\n"
                            f"Analyses stop at a time limit (relu-stable: --time-limit, default "
                            f"{DEFAULT_TIME_LIMIT:g} s).\n\n{_EXIT_CODES}")
    sub = parser.add_subparsers(dest="command", required=True)
    epilog = f"{_MODEL_FILES} {_EXIT_CODES}"

    p = sub.add_parser("tanh-rank", help="rank of a single-hidden-layer tanh network (Algorithm 4.2)",
                       epilog=epilog)
    p.add_argument("model", help=".npz with a, b, c, d, or a .pt Sequential(Linear, Tanh, Linear) or its state dict")
    p.add_argument("--atol", type=_tolerance, default=0.0, help="tolerance >= 0 (default 0: exact)")
    p.set_defaults(run=_cmd_tanh_rank)

    p = sub.add_parser("tanh-compress", help="optimal lossless compression of a tanh network (Algorithm 4.1)",
                       epilog=f"{_MODEL_FILES} {_OUT_FILES} {_EXIT_CODES}")
    p.add_argument("model", help=".npz with a, b, c, d, or a .pt Sequential(Linear, Tanh, Linear) or its state dict")
    p.add_argument("--out", required=True, help="output file (.npz or .pt)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (never an input file)")
    p.add_argument("--atol", type=_tolerance, default=0.0, help="tolerance >= 0 (default 0: exact)")
    p.set_defaults(run=_cmd_tanh_compress)

    p = sub.add_parser("relu-stable", help="stable neurons of a ReLU MLP over a box, and LEO++ compression",
                       epilog=f"{_MODEL_FILES} {_OUT_FILES} Exit code 1: the analysis is incomplete (some neurons "
                              f"unknown, e.g. at the time limit). {_EXIT_CODES}")
    p.add_argument("model", help=".npz with weights_0, biases_0, ..., or a .pt Sequential of Linear/ReLU or its "
                                 "state dict")
    p.add_argument("--lower", type=_floats, required=True, help="lower corner of the input box (number or list)")
    p.add_argument("--upper", type=_floats, required=True, help="upper corner of the input box (number or list)")
    p.add_argument("--data", help=".npy array (N, n_0) of inputs in the box, used for preprocessing (validated for "
                                  "every method)")
    p.add_argument("--method", default="pipeline", choices=("pipeline", "isa", "baseline"),
                   help="pipeline (default): data, bounds, LPs, gradient search, then ISA and a branch and bound "
                        "for what is left; isa: Algorithm 1 of Serra et al. as one SCIP branch-and-bound run; "
                        "baseline: MILPs per neuron")
    p.add_argument("--device", default=None, metavar="DEVICE",
                   help="torch device for the data's forward pass, e.g. cuda (default: numpy on the CPU)")
    p.add_argument("--time-limit", type=_time_limit, default=DEFAULT_TIME_LIMIT, metavar="SECONDS",
                   help=f"limit for the whole analysis (default {DEFAULT_TIME_LIMIT:g}); every phase stops at it and "
                        "neurons not proven by then are reported unknown, never stable (exit 1). 0: no solver is "
                        "called (interval bounds, the first layer's box corners, a first block of the data); "
                        "'none': no limit")
    p.add_argument("--out", help="write the compressed network here (.npz or .pt)")
    p.add_argument("--force", action="store_true", help="replace --out if it exists (never an input file)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.set_defaults(run=_cmd_relu_stable)

    p = sub.add_parser("relu-equivalent", help="are two two-layer ReLU networks equivalent on R^n? which symmetry?",
                       epilog=epilog)
    p.add_argument("model1", help=".npz with w, b, q, c, or a .pt Sequential(Linear, ReLU, Linear) or its state dict")
    p.add_argument("model2", help="the same, for the second network (the 'truth')")
    p.add_argument("--atol", type=_tolerance, default=0.0, help="absolute floor of the tolerance, >= 0 (default 0)")
    p.add_argument("--rtol", type=_tolerance, default=DEFAULT_RTOL,
                   help=f"tolerance relative to the magnitude of the compared terms, >= 0 (default {DEFAULT_RTOL:g})")
    p.set_defaults(run=_cmd_relu_equivalent)
    return parser


def _fail(message: str) -> int:
    print(f"nncompress: error: {_one_line(message)}", file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit code.

    0 success, 1 a negative answer (not equivalent; analysis incomplete), 2 bad usage, a bad or unsafe file, or
    a failure to read or write one. Every failure prints one line on stderr, never a traceback.
    """
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) and usage errors (2), already printed
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    try:
        return int(args.run(args))
    except InputError as exc:
        return _fail(str(exc))
    except OSError as exc:
        where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
        return _fail(f"{where}{exc.strerror or exc}")
    except MemoryError:
        return _fail("out of memory (the network or the data is too large for this machine)")
    except KeyboardInterrupt:
        print("nncompress: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # anything else is a file or value the checks above missed: still no traceback
        return _fail(f"could not process the input ({type(exc).__name__}: {exc})")


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
