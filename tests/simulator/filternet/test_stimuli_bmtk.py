"""Generated stimuli against BMTK 1.2.0's own movies (defaults, screen, timing)."""

from __future__ import annotations

import numpy as np

from bmtoolkit.simulator.filternet.stimuli import grating, make_stimulus
from tests.conftest import require_module


def test_default_grating_is_bmtks():
    """Orientation 45 degrees, 0.05 cpd, 4 Hz, contrast 1 on BMTK's 1/(10 cpd) grid."""
    require_module("bmtk")
    from bmtk.simulator.filternet.lgnmodel.movie import GratingMovie

    theirs = GratingMovie(120, 240, frame_rate=1000.0).create_movie(t_min=0.0, t_max=0.05)
    ours = grating(120, 240, duration_ms=50.0)
    np.testing.assert_allclose(ours.rows, theirs.row_range)
    np.testing.assert_allclose(ours.cols, theirs.col_range)
    # BMTK spreads its frames over [0, t_max] with one extra frame (0.05 s in 50 steps of
    # 1.0 ms); compare the frames at the same times
    np.testing.assert_allclose(ours.data[:50], theirs.data[:50], atol=2e-5)


def test_config_grating_matches_bmtk_parameters():
    require_module("bmtk")
    from bmtk.simulator.filternet.lgnmodel.movie import GratingMovie

    params = {"row_size": 60, "col_size": 80, "cpd": 0.08, "temporal_f": 2.0, "theta": 30.0,
              "contrast": 0.6, "phase": 20.0}  # fmt: skip
    theirs = GratingMovie(60, 80).create_movie(t_min=0.0, t_max=0.02, cpd=0.08, temporal_f=2.0,
                                               theta=30.0, contrast=0.6, phase=20.0)  # fmt: skip
    ours = make_stimulus("graiting", params, duration_ms=20.0)
    np.testing.assert_allclose(ours.data[:20], theirs.data[:20], atol=2e-5)


def test_looming_matches_bmtk_until_its_disc_wraps():
    """t_looming in seconds; the disc grows as BMTK's until 25 degrees (5/6 s), then stays
    where BMTK's starts again from nothing."""
    require_module("bmtk")
    from bmtk.simulator.filternet.lgnmodel.movie import LoomingMovie

    theirs = LoomingMovie(40, 80, frame_rate=100.0).create_movie(t_looming=1.0,
                                                                  gray_screen_dur=0.2)  # fmt: skip
    ours = make_stimulus("looming", {"row_size": 40, "col_size": 80, "frame_rate": 100.0,
                                     "t_looming": 1.0, "gray_screen_dur": 0.2},
                         duration_ms=1300.0)  # fmt: skip
    dark_t = (theirs.data < 0).sum(axis=(1, 2))
    dark_o = (ours.data < 0).sum(axis=(1, 2))
    assert dark_o[:20].sum() == 0 and dark_t[:20].sum() == 0  # 0.2 s gray
    # BMTK's squared radius grows 0.75 px^2 per frame (10 times slower at 100 frames/s than
    # at 1000); ours 750 deg^2 per second at any frame rate: our frame 20 + k has the area of
    # BMTK's frame 20 + 10 k
    for k in (2, 5, 7):
        assert abs(int(dark_t[20 + 10 * k]) - int(dark_o[20 + k])) <= 0.05 * dark_o[20 + k] + 4
    # ours grows to 25 degrees at 5/6 s and stays; then gray after t_looming
    assert np.all(np.diff(dark_o[20:103]) >= 0)
    assert dark_o[110] == dark_o[105] > 1500 and dark_o[-1] == 0
