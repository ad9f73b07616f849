"""Builds run without NumPy's huge-page advice, and the setting comes back after."""

import pytest

from bmtoolkit.builder import NetworkBuilder, pages

setter = pages._setter()
pytestmark = pytest.mark.skipif(setter is None, reason="this NumPy has no huge-page switch")


def _current() -> bool:
    value = setter(True)
    setter(value)
    return value


def test_advice_off_inside_and_restored(monkeypatch):
    monkeypatch.delenv(pages.NUMPY_ENV, raising=False)
    before = setter(True)
    try:
        seen = []
        with pages.huge_page_advice(False):
            seen.append(_current())
        assert seen == [False]
        assert _current() is True
    finally:
        setter(before)


def test_restored_after_an_error(monkeypatch):
    monkeypatch.delenv(pages.NUMPY_ENV, raising=False)
    before = setter(True)
    try:
        with pytest.raises(ZeroDivisionError), pages.huge_page_advice(False):
            1 / 0  # noqa: B018
        assert _current() is True
    finally:
        setter(before)


def test_user_setting_is_kept(monkeypatch):
    monkeypatch.setenv(pages.NUMPY_ENV, "1")
    before = setter(True)
    try:
        with pages.huge_page_advice(False):
            assert _current() is True
    finally:
        setter(before)


def test_build_runs_with_advice_off(monkeypatch):
    monkeypatch.delenv(pages.NUMPY_ENV, raising=False)
    seen = []
    net = NetworkBuilder("a")
    net.add_nodes(N=20, ei="e")
    net.add_edges(connection_rule=lambda s, t: seen.append(_current()) or 1)
    before = setter(True)
    try:
        net.build(seed=1)
        assert seen and not any(seen)
        assert _current() is True
    finally:
        setter(before)
    assert net.nedges > 0
