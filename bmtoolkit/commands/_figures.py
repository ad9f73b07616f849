"""How the commands draw figures: off-screen, because they write files and show nothing.

The choice is made here, by the commands, and not by :mod:`bmtoolkit.analyzer`, so that the
analyzer keeps matplotlib's own backend choice in notebooks, IPython and desktop sessions
(macOS, Windows, Linux with a display), where users want interactive figures.
"""

from __future__ import annotations

import os
import sys


def use_file_backend() -> None:
    """Select matplotlib's Agg backend for a command that only writes figure files.

    Nothing changes when ``MPLBACKEND`` names a backend (the user's choice) or when
    ``matplotlib.pyplot`` is already imported (the command runs inside a session, e.g.
    ``bmtoolkit.cli.main([...])`` from a notebook, whose figures must stay as they are).

    Examples
    --------
    >>> use_file_backend()
    """
    if os.environ.get("MPLBACKEND") or "matplotlib.pyplot" in sys.modules:
        return
    import matplotlib

    matplotlib.use("Agg")
