"""``bmtoolkit fit-glif`` end to end on NEST-made sweeps of an Allen GLIF5 cell."""

from __future__ import annotations

import json

import pytest

from bmtoolkit.cli import main
from bmtoolkit.glif import GlifParameters, make_stimulus
from bmtoolkit.glif.io import write_csv, write_npz
from tests.glif.conftest import nest_sweep

pytestmark = pytest.mark.nest
DT = 5e-5


def _noise(duration, amplitude, offset, seed):
    return make_stimulus("noise", duration=duration, dt=DT, amplitude=amplitude, offset=offset,
                         seed=seed)  # fmt: skip


def test_fit_glif_writes_configs_summary_and_figure(glif_levels, tmp_path, capsys):
    truth = glif_levels[5]
    train = [nest_sweep(truth, _noise(1.0, 3e-11, 0.0, 1)),
             nest_sweep(truth, _noise(1.5, 1e-10, 1.2e-10, 2))]  # fmt: skip
    held = nest_sweep(truth, _noise(1.5, 1e-10, 1.3e-10, 9))
    write_npz(tmp_path / "train.npz", train)
    write_csv(tmp_path / "held.csv", held)
    out = tmp_path / "cell.json"
    rc = main(["fit-glif", str(tmp_path / "train.npz"), str(tmp_path / "held.csv"),
               "--level", "1", "5", "-o", str(out)])  # fmt: skip
    assert rc == 0
    printed = capsys.readouterr().out
    assert "GLIF1 (lif): explained variance" in printed and "GLIF5" in printed
    summary = json.loads((tmp_path / "cell.fit.json").read_text())
    assert summary["sweeps"]["held_out"] == ["held.csv"]
    ev5 = summary["levels"]["lif_r_asc_a"]["explained_variance"]
    assert ev5 >= 0.9 and ev5 >= summary["levels"]["lif"]["explained_variance"]
    cfg = json.loads((tmp_path / "cell_lif_r_asc_a.json").read_text())
    reference = truth.to_neuron_config()
    assert set(cfg) == set(reference)
    p = GlifParameters.from_neuron_config(cfg)
    assert p.level == 5 and p.R == pytest.approx(truth.R, rel=0.02)
    assert (tmp_path / "cell_lif.json").is_file()
    png = (tmp_path / "cell.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 20000


def test_fit_glif_needs_a_held_out_sweep(glif_levels, tmp_path, capsys):
    sw = nest_sweep(glif_levels[1], _noise(0.5, 1e-10, 1.5e-10, 1))
    write_npz(tmp_path / "one.npz", [sw])
    assert main(["fit-glif", str(tmp_path / "one.npz"), "-o", str(tmp_path / "p.json")]) == 1
    err = capsys.readouterr().err
    assert "bmtoolkit fit-glif: error: sweeps: need at least two sweeps with spikes" in err
    assert not (tmp_path / "p.json").exists()


def test_fit_glif_method_gradient(tmp_path, capsys):
    """``--method gradient`` refines the step-by-step fit; the summary keeps both scores."""
    pytest.importorskip("torch", reason="torch is not installed")
    from bmtoolkit.glif import Sweep, simulate

    truth = GlifParameters(level=1, El=-0.0714, R=3.4e8, C=8.6e-11, th_inf=0.0227,
                           spike_cut_length=134, dt=DT)  # fmt: skip

    def sweep(duration, amplitude, offset, seed, name):
        i = _noise(duration, amplitude, offset, seed)
        return Sweep(i, simulate(truth, i).voltage, DT, kind="noise", name=name)

    write_npz(tmp_path / "train.npz", [sweep(0.3, 3e-11, 0.0, 1, "sub"),
                                       sweep(0.4, 1e-10, 1.5e-10, 2, "noise_a"),
                                       sweep(0.4, 1e-10, 1.5e-10, 3, "noise_b")])  # fmt: skip
    write_npz(tmp_path / "held.npz", [sweep(0.5, 1e-10, 1.4e-10, 9, "held")])
    out = tmp_path / "cell.json"
    args = ["fit-glif", str(tmp_path / "train.npz"), str(tmp_path / "held.npz"), "--level", "1",
            "--holdout", "held", "--method", "gradient", "--max-iter", "2", "-o", str(out),
            "--validation", ":noise_a"]  # fmt: skip
    assert main(args) == 0
    assert "(step-by-step start" in capsys.readouterr().out
    summary = json.loads((tmp_path / "cell.fit.json").read_text())
    lif = summary["levels"]["lif"]
    assert lif["method"] == "gradient" and lif["validation_sweeps"] == ["train.npz:noise_a"]
    assert lif["iterations"] == 2 and lif["fitted_parameters"] == ["El", "R", "C", "th_inf"]
    assert lif["validation_loss"] <= lif["initial_validation_loss"]
    assert lif["explained_variance"] > 0.9 and lif["explained_variance_steps"] > 0.9
    p = GlifParameters.from_neuron_config(json.loads(out.read_text()))
    assert p.level == 1 and p.R == pytest.approx(truth.R, rel=0.02)
    assert main([*args[:-1], "nothing"]) == 1
    assert "--validation: no training sweep matches --validation ['nothing']" in (
        capsys.readouterr().err)  # fmt: skip
