"""Who chooses matplotlib's backend: the commands that write files, never the analyzer.

Each case runs in a fresh interpreter without ``DISPLAY`` and ``MPLBACKEND`` (a headless
machine, or macOS/Windows where ``DISPLAY`` is never set), so the choice made at import or
at the first plot is visible.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("matplotlib", reason="matplotlib is not installed")


def _run(code: str) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND")}
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


def test_analyzer_plots_keep_the_backend_the_user_chose():
    out = _run(
        """
        import matplotlib
        matplotlib.use("svg")  # e.g. a notebook's inline backend or macOS' native one
        import pandas as pd
        from bmtoolkit.analyzer import plot_raster
        spikes = pd.DataFrame({"population": ["v1"] * 2, "node_id": [0, 1],
                               "timestamp": [1.0, 2.0]})
        plot_raster(spikes)
        print(matplotlib.get_backend())
        """
    )
    assert out == "svg"


def test_commands_that_write_files_draw_off_screen():
    out = _run(
        """
        from bmtoolkit.commands._figures import use_file_backend
        use_file_backend()
        import matplotlib
        print(matplotlib.get_backend())
        """
    )
    assert out.lower() == "agg"


def test_a_command_run_inside_a_session_leaves_its_figures_alone():
    out = _run(
        """
        import matplotlib
        matplotlib.use("svg")
        import matplotlib.pyplot as plt
        fig = plt.figure()
        from bmtoolkit.commands._figures import use_file_backend
        use_file_backend()
        print(matplotlib.get_backend(), plt.fignum_exists(fig.number))
        """
    )
    assert out == "svg True"
