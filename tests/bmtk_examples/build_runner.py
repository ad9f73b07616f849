"""Run a build script as ``python <script>`` would, after seeding the global generators.

``python build_runner.py SEED SCRIPT``: seeds Python's ``random`` and ``numpy.random`` with
``SEED``, then runs ``SCRIPT`` as ``__main__`` with its folder first on ``sys.path``. The
script itself is not changed; a script that seeds the generators itself (most of BMTK's
examples do) reseeds them as it would in a plain run. Used by ``test_build_scripts.py`` to run
the same script with BMTK and with bmtoolkit from the same random state.
"""

from __future__ import annotations

import os
import random
import runpy
import sys

import numpy as np


def main(argv: list[str]) -> None:
    """Seed, then run the script (``argv``: ``[runner, seed, script]``)."""
    seed, script = int(argv[1]), os.path.abspath(argv[2])
    sys.argv = [script]
    sys.path.insert(0, os.path.dirname(script))
    random.seed(seed)
    np.random.seed(seed)
    runpy.run_path(script, run_name="__main__")


if __name__ == "__main__":
    main(sys.argv)
