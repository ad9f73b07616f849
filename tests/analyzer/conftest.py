"""Plots in these tests render with the Agg backend and are closed after each test."""

from __future__ import annotations

import pytest

from tests.conftest import require_module


@pytest.fixture(autouse=True)
def _agg(monkeypatch):
    require_module("matplotlib")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    yield
    import matplotlib.pyplot as plt

    plt.close("all")


def saved_png(fig, path) -> int:
    """Save ``fig`` as PNG and return its size in bytes."""
    fig.savefig(path)
    with open(path, "rb") as f:
        assert f.read(8) == b"\x89PNG\r\n\x1a\n"
    return path.stat().st_size
