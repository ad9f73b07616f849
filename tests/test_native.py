"""Compiled kernels: built once per content into the cache, refused cleanly, switched off."""

from __future__ import annotations

import ctypes

import pytest

from bmtoolkit import native

SOURCE = """
#include <stdint.h>
int64_t twice(int64_t x) { return 2 * x; }
"""


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("BMTOOLKIT_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("BMTOOLKIT_NATIVE", raising=False)
    return tmp_path / "cache"


def _source(folder, name="twice", text=SOURCE):
    path = folder / f"{name}.c"
    path.write_text(text)
    return path


def test_kernel_is_compiled_once_into_the_cache(tmp_path, cache):
    if native._compiler() is None:
        pytest.skip("no C compiler on this machine")
    src = _source(tmp_path)
    lib = native.load_kernel(src)
    assert lib is not None and native.why_unavailable(src) is None
    twice = native.load_function(src, "twice", [ctypes.c_int64], ctypes.c_int64)
    assert twice(21) == 42 and twice.argtypes == [ctypes.c_int64]
    built = native.kernel_path(src)
    assert built.is_file() and built.is_relative_to(cache / "native")
    # nothing half-written beside it, and a later process finds it instead of compiling
    assert [p.name for p in built.parent.iterdir()] == [built.name]
    stamp = built.stat().st_mtime_ns
    native._LOADED.clear()
    assert native.load_kernel(src) is not None and built.stat().st_mtime_ns == stamp
    # another text is another library
    (tmp_path / "x").mkdir()
    other = _source(tmp_path / "x", text=SOURCE + "\n/* changed */\n")
    assert native.kernel_path(other) != built


def test_compile_error_leaves_nothing_and_says_why(tmp_path, cache):
    if native._compiler() is None:
        pytest.skip("no C compiler on this machine")
    src = _source(tmp_path, "broken", "int f( {")
    assert native.load_kernel(src) is None
    assert "failed on broken.c" in native.why_unavailable(src)
    folder = native.kernel_path(src).parent
    assert not folder.exists() or not any(folder.iterdir())


def test_without_a_compiler_or_when_switched_off(tmp_path, cache, monkeypatch):
    src = _source(tmp_path, "nocc")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    monkeypatch.setenv("PATH", str(tmp_path))
    assert native.load_kernel(src) is None
    assert native.load_function(src, "twice", [ctypes.c_int64], ctypes.c_int64) is None
    assert native.why_unavailable(src).startswith("no C compiler found")
    monkeypatch.setenv("BMTOOLKIT_NATIVE", "0")
    assert not native.native_enabled()
    assert native.load_kernel(src) is None and native.why_unavailable(src) == "BMTOOLKIT_NATIVE=0"


def test_gcc_when_cc_names_no_program(tmp_path, cache, monkeypatch):
    import shutil

    if shutil.which("gcc") is None:
        pytest.skip("gcc not found")
    src = _source(tmp_path, "viagcc")
    monkeypatch.setenv("CC", str(tmp_path / "no-such-cc"))
    assert native._compiler() == shutil.which("gcc")
    assert native.load_kernel(src) is not None and native.why_unavailable(src) is None


def test_cache_dir_order(tmp_path, monkeypatch):
    monkeypatch.setenv("BMTOOLKIT_CACHE_DIR", str(tmp_path / "a"))
    assert native.cache_dir("native") == tmp_path / "a" / "native"
    monkeypatch.delenv("BMTOOLKIT_CACHE_DIR")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "x"))
    assert native.cache_dir("native") == tmp_path / "x" / "bmtoolkit" / "native"
