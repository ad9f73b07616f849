"""Fixtures of the BMTK-script tests.

The tutorial-style scripts in ``pointnet/`` and ``bionet/`` are run by the tests, never
imported (``--doctest-modules`` would run them at collection).
"""

from __future__ import annotations

import pytest

collect_ignore_glob = ["pointnet/*.py", "bionet/*.py"]


@pytest.fixture(scope="session")
def pointnet_tutorial(tmp_path_factory):
    """The pointnet tutorial scripts run by bmtoolkit and by BMTK: ``(ours, BMTK's)`` folders."""
    from tests.bmtk_scripts.test_tutorial_scripts import run_pointnet_tutorial

    return run_pointnet_tutorial(tmp_path_factory.mktemp("pointnet_tutorial"))
