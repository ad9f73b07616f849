"""Which config keys bmtoolkit knows: a warning for misspelled and unsupported keys.

A key bmtoolkit does not read is otherwise silently ignored, so a typo
(``spike_treshold``) or a BMTK option that changes results elsewhere (``spikes_file_nwb``)
would go unnoticed. :func:`key_problems` compares the sections of one config document
(top level, ``run``, ``output``, ``conditions``, ``components``, each ``inputs`` and
``reports`` entry) against the tables below:

- :data:`KNOWN_KEYS`: keys bmtoolkit reads, and BMTK/SONATA keys that change nothing in a
  run's results (``quiet_simulator``, ``block_run`` ...);
- :data:`UNSUPPORTED_KEYS`: BMTK keys whose effect bmtoolkit does not have, with the reason.

An unknown key gets the closest known key as a suggestion (:func:`difflib.get_close_matches`).
Input and report entries also take options of their own module, so there only keys close to
a known one (likely misspellings, ``node_sett``) are reported.
:func:`warn_config_keys` turns the problems into :class:`~bmtoolkit.exceptions.BmtkWarning`
when a config is loaded, and ``bmtoolkit validate`` lists them as warnings.

Examples
--------
>>> doc = {"run": {"tstop": 100.0, "dt": 0.1, "spike_treshold": -15.0},
...        "output": {"spikes_file_nwb": "spikes.nwb"}}
>>> for location, message in key_problems(doc):  # doctest: +ELLIPSIS
...     print(location, "|", message)
run.spike_treshold | unknown key 'spike_treshold' in 'run' (ignored); did you mean 'spike_threshold'?
output.spikes_file_nwb | 'spikes_file_nwb' is not supported and is ignored: no NWB output; ...

Node sets that select no node are the other silent mistake (an input naming population
``lgn`` of a network whose population is ``LGN``): :func:`empty_node_set_message` says so and
suggests the population meant; runs warn and ``bmtoolkit validate`` lists it.
"""

from __future__ import annotations

import difflib
import os
import warnings
from collections.abc import Mapping
from typing import Any

from bmtoolkit.exceptions import BmtkWarning

__all__ = [
    "KNOWN_KEYS",
    "UNSUPPORTED_KEYS",
    "empty_node_set_message",
    "key_problems",
    "warn_config_keys",
]

_INPUT_KEYS = frozenset(
    {
        # every input
        "input_type", "module", "node_set", "enabled", "trial", "trials",
        # spikes (sonata, csv, h5, nwb files; generated trains)
        "input_file", "file", "spikes_file", "timestamps", "rates", "firing_rate", "times",
        "population", "precise_times", "allow_offgrid_spikes", "missing_ids", "seed",
        "random_seed", "delay_ms", "units", "use_parrot_neurons",
        # current and voltage clamps
        "amp", "delay", "duration", "amps", "amplitude", "offset", "frequency", "ramp", "dc",
        "resistance", "electrode_file", "gids", "sweep_id", "data_file", "dt", "tstop",
        "mapping", "interval", "simulation_offset", "simulation_onset", "precell_filter",
        "section_name", "section_index", "section_dist", "rs", "seclamp", "durations",
        "seclamp_durations", "vc_amp", "vc_dur",
        # extracellular stimulation
        "positions_file", "mesh_files_dir", "waveform", "comsol_file", "comsol_files", "amplitudes",
        "electrode_positions", "extracellular_file",
        # filternet movies and gratings
        "row_size", "col_size", "gray_screen_dur", "cpd", "temporal_f", "contrast", "theta",
        "phase", "frame_rate", "t_looming", "downsample", "evaluation_options", "radius",
        "angle", "direction", "data", "padding",
        # repeated clamps, rate inputs, torchnet/popnet options
        "repeat", "period", "n_repeats", "rate", "rate_type", "rates_file", "stop", "start",
        "tau_syn", "receptor_type", "synapse_model", "weight", "syn_weight", "n_trials",
        # filternet stimuli
        "center", "col_range", "row_range", "degrees_per_pixel", "domain", "flip_y",
        "normalize", "orientation", "radius_end", "radius_start", "sf", "speed", "t_off",
        "t_on", "t_start", "width", "name", "t_expand", "gray_sceen_dur",
    }
)  # fmt: skip

_REPORT_KEYS = frozenset(
    {
        "cells", "node_set", "variable_name", "variable", "module", "sections", "section",
        "enabled", "file_name", "transform", "dt", "start_time", "end_time", "type",
        "compartments", "unit", "units", "scaling", "electrode_positions", "electrode_channels",
        "contributions_dir", "nest_model", "model_template", "syn_type", "syn_types",
        "tstart", "tstop", "buffer", "minimize_file_size", "cell_ids", "targets",
        "synapse_model", "recordables", "model", "population", "node_ids", "edges",
        "edge_types", "weight", "syn_weight", "interval",
    }
)  # fmt: skip

#: keys read by bmtoolkit or harmless to ignore, per section ("" is the top level)
KNOWN_KEYS: dict[str, frozenset[str]] = {
    "": frozenset(
        {
            "manifest",
            "components",
            "networks",
            "network",
            "simulation",
            "run",
            "target_simulator",
            "target_simulator_version",
            "conditions",
            "inputs",
            "output",
            "reports",
            "node_sets_file",
            "node_sets",
            "node_set",
            "mechanisms_dir",
            "version",
            "metadata",
            "connection_overrides",
            "beta_features",
        }
    ),
    "run": frozenset(
        {
            "tstart",
            "tstop",
            "dt",
            "dL",
            "spike_threshold",
            "swc_point_digits",
            "nsteps_block",
            "random_seed",
            "overwrite_output_dir",
            "nthreads",
            "n_thread",
            "local_num_threads",
            "precise_times",
            "allow_offgrid_spikes",
            "block_run",
            "block_size",
            "duration",
            "print_time",
            "integration_method",
            "stimulus_seed",
            "ionic_seed",
            "minis_seed",
            "spike_location",
            "electrodes_file",
            "optimize_ring",
            "n_runs",
            # backend options (popnet, filternet, torchnet)
            "mode",
            "popnet_mode",
            "n_trials",
            "n_workers",
            "nonlinearity",
            "spatial_kernel",
            "device",
            "torchnet",
            "cell_params",
        }
    ),
    "output": frozenset(
        {
            "output_dir",
            "log_file",
            "log_level",
            "log_to_console",
            "spikes_file",
            "spikes_file_csv",
            "spikes_csv",
            "spikes_h5",
            "spikes_sort_order",
            "overwrite_output_dir",
            "quiet_simulator",
            "rates_file",
            "rates_csv",
            "rates_h5",
            "rates_file_csv",
            "rates_file_h5",
            "cache_to_disk",
        }
    ),
    "conditions": frozenset(
        {
            "celsius",
            "v_init",
            "jitter_lower",
            "jitter_upper",
            "erev",
            "temperature",
            "extracellular_calcium",
            "randomize_gaba_rise_time",
            "mechanisms",
            "modifications",
            "spike_location",
            "synapse_seed",
        }
    ),
    "components": frozenset(
        {
            "morphologies_dir",
            "synaptic_models_dir",
            "mechanisms_dir",
            "biophysical_neuron_models_dir",
            "point_neuron_models_dir",
            "filter_models_dir",
            "population_models_dir",
            "templates_dir",
            "morphologies",
            "alternate_morphologies",
            "biophysical_neuron_models",
            "point_neuron_models",
            "synaptic_models",
            "neurolucida_asc",
            "h5v1",
            "provenance",
        }
    ),
    "inputs.*": _INPUT_KEYS,
    "reports.*": _REPORT_KEYS,
}

#: BMTK keys whose effect bmtoolkit does not have -> why and what to use instead
UNSUPPORTED_KEYS: dict[str, dict[str, str]] = {
    "output": {
        "spikes_file_nwb": "no NWB output; spikes go to output.spikes_file (SONATA) and "
        "output.spikes_file_csv",
        "spikes_nwb": "no NWB output; spikes go to output.spikes_file (SONATA) and "
        "output.spikes_file_csv",
        "compression": "SONATA files are written uncompressed",
    },
}


def _close(key: str, known: frozenset[str]) -> str:
    match = difflib.get_close_matches(key, sorted(known), n=1, cutoff=0.75)
    return f"; did you mean {match[0]!r}?" if match else ""


def _section_problems(
    section: Mapping[str, Any], table: str, where: str, out: list[tuple[str, str]]
) -> None:
    known = KNOWN_KEYS[table]
    unsupported = UNSUPPORTED_KEYS.get(table, {})
    for key in section:
        if not isinstance(key, str) or key in known or key.startswith(("#", "_", "$")):
            continue
        location = f"{where}.{key}" if where else key
        if key in unsupported:
            out.append((location, f"{key!r} is not supported and is ignored: {unsupported[key]}"))
        elif table == "components" and key.endswith(("_dir", "_file", "_path")):
            continue  # a components folder of the user's own naming
        elif table.endswith(".*") and not _close(key, known):
            continue  # an option of the entry's own module: only likely typos are reported
        else:
            place = f" in {where!r}" if where else ""
            out.append((location, f"unknown key {key!r}{place} (ignored){_close(key, known)}"))


def key_problems(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(location, message)`` of every unknown or unsupported key of one config document.

    Examples
    --------
    >>> key_problems({"output": {"spikes_file": "s.h5", "quiet_simulator": True}})
    []
    >>> key_problems({"inputs": {"lgn": {"input_type": "spikes", "node_sett": "lgn"}}})
    [('inputs.lgn.node_sett', "unknown key 'node_sett' in 'inputs.lgn' (ignored); did you mean 'node_set'?")]
    """
    out: list[tuple[str, str]] = []
    if not isinstance(doc, Mapping):
        return out
    _section_problems(doc, "", "", out)
    for name in ("run", "output", "conditions", "components"):
        section = doc.get(name)
        if isinstance(section, Mapping):
            _section_problems(section, name, name, out)
    for name in ("inputs", "reports"):
        entries = doc.get(name)
        if not isinstance(entries, Mapping):
            continue
        for entry_name, entry in entries.items():
            if isinstance(entry, Mapping):
                _section_problems(entry, f"{name}.*", f"{name}.{entry_name}", out)
    return out


def warn_config_keys(doc: Mapping[str, Any], path: str | os.PathLike[str]) -> None:
    """Issue one :class:`BmtkWarning` per problem of :func:`key_problems`, naming the file."""
    for location, message in key_problems(doc):
        warnings.warn(f"{os.fspath(path)}: {location}: {message}", BmtkWarning, stacklevel=4)


def empty_node_set_message(spec: Any, populations: Mapping[str, Any] | Any) -> str:
    """Say that node set ``spec`` selects no node; suggest the population a name meant.

    Parameters
    ----------
    spec : str, dict or list
        The node set (a name, an inline rule, ids).
    populations : iterable of str
        Names of the node populations of the circuit.

    Examples
    --------
    >>> empty_node_set_message({"population": "lgn"}, ["LGN", "V1"])
    "node set {'population': 'lgn'} matches no node: there is no population 'lgn'; did you mean 'LGN'? (populations: ['LGN', 'V1'])"
    """
    names = sorted(str(n) for n in populations)
    text = f"node set {spec!r} matches no node"
    wanted = spec.get("population") if isinstance(spec, Mapping) else None
    wanted = [wanted] if isinstance(wanted, str) else wanted
    missing = [w for w in wanted or () if isinstance(w, str) and w not in names]
    for name in missing:
        by_case = {n.lower(): n for n in names}.get(name.lower())
        guess = by_case or next(iter(difflib.get_close_matches(name, names, n=1)), None)
        hint = f"; did you mean {guess!r}?" if guess else ""
        text += f": there is no population {name!r}{hint}"
    if missing:
        text += f" (populations: {names})"
    return text
