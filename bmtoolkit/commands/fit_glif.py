"""``bmtoolkit fit-glif``: fit GLIF levels to current-clamp sweeps and report the fit.

Sweeps come from ``.npz``, ``.csv`` or ``.nwb`` files (see :mod:`bmtoolkit.glif.io`). The
held-out sweeps (``--holdout``; default the last suprathreshold noise sweep) are not used
for fitting; the explained variance of each level is measured on them. Writes the Allen
``neuron_config`` of each level (``-o params.json`` for one level; ``params_<name>.json``
for several), a summary ``<output>.fit.json`` (explained variance, spike counts, NEST
parameters) and a report figure (``--figure``, default ``<output>.png``).

``--method gradient`` refines each level's step-by-step fit by gradient descent through
torchnet's GLIF cells (:func:`bmtoolkit.glif.gradient.fit_glif_gradient`; needs PyTorch);
the last training noise sweep with spikes (or ``--validation NAME``) stops it early, and
the summary records the explained variance of the step-by-step start next to the result.

Examples
--------
>>> from bmtoolkit.cli import main
>>> main(["fit-glif", "cell.npz", "--level", "1", "5", "-o", "cell.json"])  # doctest: +SKIP
0
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from bmtoolkit.exceptions import ConfigError, MissingFileError

NAME = "fit-glif"
HELP = "Fit GLIF point-neuron models (levels 1-5) to current-clamp sweeps."


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``SWEEPS... --level L [L ...] -o PARAMS.json [--figure F] [--holdout NAME ...]``."""
    parser.add_argument("sweeps", nargs="+", help=".npz, .csv or .nwb files of sweeps")
    parser.add_argument("--level", nargs="+", type=int, default=[5], choices=range(1, 6),
                        metavar="L", help="GLIF level(s) 1-5 (default 5)")  # fmt: skip
    parser.add_argument("-o", "--output", default="glif_params.json",
                        help="neuron_config JSON to write (default glif_params.json)")  # fmt: skip
    parser.add_argument("--figure", default=None, help="report image (default OUTPUT.png)")
    parser.add_argument("--holdout", nargs="+", default=None, metavar="NAME",
                        help="sweeps (names or substrings) kept out of the fit for scoring")  # fmt: skip
    parser.add_argument("--spike-cut", type=int, default=None,
                        help="spike-cut length in samples (default: estimated)")  # fmt: skip
    parser.add_argument("--no-mlin", action="store_true",
                        help="threshold by least squares only (skip MLIN)")  # fmt: skip
    parser.add_argument("--method", choices=sorted(METHODS), default="steps",
                        help="steps: the step-by-step procedure (default); gradient: refine "
                             "it by gradient descent through torchnet (needs PyTorch)")  # fmt: skip
    parser.add_argument("--validation", nargs="+", default=None, metavar="NAME",
                        help="--method gradient: training sweeps (names or substrings) that "
                             "stop the descent early (default: the last noise sweep with "
                             "spikes)")  # fmt: skip
    parser.add_argument("--max-iter", type=int, default=None,
                        help="--method gradient: most optimizer steps (default 60)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0,
                        help="--method gradient: seed of the window draws (default 0)")  # fmt: skip


def _fit_steps(train: list, level: int, args: argparse.Namespace) -> tuple[Any, dict]:
    from bmtoolkit.glif import fit_glif

    return fit_glif(train, level, spike_cut=args.spike_cut, mlin=not args.no_mlin), {}


def _fit_gradient(train: list, level: int, args: argparse.Namespace) -> tuple[Any, dict]:
    try:
        from bmtoolkit.glif.gradient import fit_glif_gradient
    except ImportError as err:  # BackendNotAvailableError names the missing package
        raise ConfigError(f"--method gradient needs PyTorch: {err}", field="--method") from err
    validation = None
    if args.validation:
        validation = [s for s in train if any(n in s.name for n in args.validation)]
        if not validation:
            raise ConfigError(f"no training sweep matches --validation {args.validation}; "
                              f"sweeps: {[s.name for s in train]}", field="--validation")  # fmt: skip
    overrides: dict[str, Any] = {"seed": args.seed}
    if args.max_iter is not None:
        overrides["max_iter"] = args.max_iter
    fit = fit_glif_gradient(train, level, validation=validation, spike_cut=args.spike_cut,
                            mlin=not args.no_mlin, **overrides)  # fmt: skip
    extra = {"method": "gradient", "validation_sweeps": list(fit.validation_sweeps),
             "iterations": len(fit.history), "best_iteration": fit.best_iteration,
             "validation_loss": fit.validation_loss,
             "initial_validation_loss": fit.initial_validation_loss,
             "fitted_parameters": list(fit.fitted)}  # fmt: skip
    return fit, extra


#: ``--method`` -> function(train, level, args) -> (fit, extra summary entries)
METHODS = {"steps": _fit_steps, "gradient": _fit_gradient}


def split_holdout(sweeps: list, names: list[str] | None) -> tuple[list, list]:
    """(training, held-out) sweeps; by default the last noise sweep with spikes is held out."""
    from bmtoolkit.glif import sweep_spikes

    if names:
        held = [s for s in sweeps if any(n in s.name for n in names)]
        if not held:
            raise ConfigError(f"no sweep matches --holdout {names}; sweeps: "
                              f"{[s.name for s in sweeps]}", field="--holdout")  # fmt: skip
    else:
        spiking = [s for s in sweeps if sweep_spikes(s).size > 0]
        noise = [s for s in spiking if s.kind == "noise"] or spiking
        if len(spiking) < 2:
            raise ConfigError("need at least two sweeps with spikes (one is held out to score "
                              "the fit), or name held-out sweeps with --holdout",
                              field="sweeps")  # fmt: skip
        held = [noise[-1]]
    train = [s for s in sweeps if all(s is not h for h in held)]
    return train, held


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(data, indent=2, default=float))
    os.replace(tmp, path)


def run(args: argparse.Namespace) -> int:
    """Read, fit each level, evaluate on held-out sweeps, write files and the figure."""
    from bmtoolkit.glif import LEVEL_NAMES, evaluate
    from bmtoolkit.glif.io import read_sweeps

    out = Path(args.output)
    if not out.parent.is_dir():
        raise MissingFileError("output folder does not exist", path=out.parent)
    sweeps = [s for f in args.sweeps for s in read_sweeps(f)]
    train, held = split_holdout(sweeps, args.holdout)
    levels = sorted(set(args.level))
    fits, summary = {}, {"sweeps": {"train": [s.name for s in train],
                                    "held_out": [s.name for s in held]}, "levels": {}}  # fmt: skip
    files = {}
    for level in levels:
        fit, extra = METHODS[args.method](train, level, args)
        ev = evaluate(fit.params, held)
        fits[level] = (fit.params, ev)
        target = out if len(levels) == 1 else out.with_name(
            f"{out.stem}_{LEVEL_NAMES[level]}{out.suffix or '.json'}")  # fmt: skip
        files[level] = target
        summary["levels"][LEVEL_NAMES[level]] = {
            "level": level, "neuron_config": target.name,
            "explained_variance": ev.explained_variance,
            "explained_variance_per_sweep": list(ev.per_sweep),
            "spike_counts_data": list(ev.data_counts),
            "spike_counts_model": list(ev.model_counts),
            "n_training_spikes": fit.n_spikes, "nest_glif_psc": fit.nest_params(),
            "method": args.method, **extra,
        }  # fmt: skip
        if args.method == "gradient":
            start = evaluate(fit.initial, held).explained_variance
            summary["levels"][LEVEL_NAMES[level]]["explained_variance_steps"] = start
        print(f"GLIF{level} ({LEVEL_NAMES[level]}): explained variance "
              f"{ev.explained_variance:.3f} on {len(held)} held-out sweep(s)"
              + (f" (step-by-step start {start:.3f})" if args.method == "gradient" else ""))  # fmt: skip
    for level, target in files.items():
        _write_json(target, fits[level][0].to_neuron_config())
    _write_json(out.with_name(f"{out.stem}.fit.json"), summary)
    from bmtoolkit.commands._figures import use_file_backend

    use_file_backend()
    from bmtoolkit.glif.report import plot_fit_report

    figure = Path(args.figure) if args.figure else out.with_suffix(".png")
    fig = plot_fit_report(held[0], fits)
    fig.savefig(figure, dpi=110)
    print(figure)
    return 0
