#!/usr/bin/env bash
# Set up everything bmtoolkit needs on a fresh Debian machine with Python 3.11, gcc and apt,
# then run one job:
#   bash scripts/bootstrap.sh demo   build a small V1-like network, simulate it, plot a raster
#   bash scripts/bootstrap.sh test   lint (ruff check + format), type-check (mypy), the whole test
#                                    suite, and the core tests again with only the core install
# Re-running is cheap: installed pieces are kept in .venv and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
job="${1:-demo}"
shift || true

PY="${PYTHON:-python3}"
VENV="${BMTOOLKIT_VENV:-.venv}"

apt_install() {
    local missing=()
    for pkg in "$@"; do
        dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    local sudo=""
    [ "$(id -u)" -ne 0 ] && sudo="sudo"
    echo "bootstrap: installing ${missing[*]} with apt"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

# OpenMPI for mpi4py and the MPI tests.
apt_install openmpi-bin libopenmpi-dev
# Headless Chromium renders the HTML network view in its test (which skips without it).
if [ "$job" = "test" ]; then
    apt_install chromium
fi

if [ ! -x "$VENV/bin/python" ]; then
    echo "bootstrap: creating virtual environment $VENV"
    "$PY" -m venv "$VENV"
fi
PIP="$VENV/bin/python -m pip"
stamp="$VENV/.bmtoolkit-installed"
want="$(cat setup.cfg pyproject.toml | sha256sum | cut -c1-16)-$job"
if [ ! -f "$stamp" ] || ! grep -qx "$want" "$stamp"; then
    $PIP install -q --upgrade pip
    # The CPU build of PyTorch first: an unpinned torch would pull a multi-GB CUDA build.
    $PIP install -q "torch==2.13.0"
    if [ "$job" = "test" ]; then
        $PIP install -q -e ".[all,dev]"
    else
        $PIP install -q -e ".[all]"
    fi
    echo "$want" >> "$stamp"
fi

# "bmtoolkit works without any simulator": `pip install .` (plus the test runner, the `test`
# extra) into a venv of its own, without NEST, NEURON, PyTorch, mpi4py or any dev tool, runs the
# tests of the layers that need none from the installed package. A test that needs a simulator
# but lacks its marker fails here (tests/conftest.py). About a minute, plus the reinstall.
core_only_tests() {
    local core="${BMTOOLKIT_CORE_VENV:-.venv-core}"
    local core_stamp="$core/.bmtoolkit-core-installed"
    local core_want
    core_want="$(sha256sum setup.cfg | cut -c1-16)"
    if [ ! -x "$core/bin/python" ]; then
        echo "bootstrap: creating the core-only virtual environment $core"
        "$PY" -m venv "$core"
    fi
    if [ ! -f "$core_stamp" ] || ! grep -qx "$core_want" "$core_stamp"; then
        "$core/bin/python" -m pip install -q --upgrade pip
        "$core/bin/python" -m pip install -q ".[test]"
        echo "$core_want" > "$core_stamp"
    fi
    # the package as it is now, not as it was when the environment was made
    "$core/bin/python" -m pip install -q --no-deps --force-reinstall .
    if "$core/bin/python" -c 'import nest' 2>/dev/null || "$core/bin/python" -c 'import neuron' 2>/dev/null \
        || "$core/bin/python" -c 'import torch' 2>/dev/null; then
        echo "bootstrap: $core has a simulator installed; remove it to test the core install" >&2
        return 1
    fi
    echo "bootstrap: core tests with only the core install ($core)"
    # the pytest script (not `python -m`) keeps the checkout off sys.path: the installed
    # package is the one tested
    "$core/bin/pytest" -q -p no:cacheprovider \
        -m "not (nest or neuron or torch or mpi or interop or slow)" \
        tests/sonata tests/models tests/builder tests/analyzer tests/simulator/core \
        tests/test_layers.py tests/test_lazy_imports.py
}

export PYNEST_QUIET=1
export MPLBACKEND=Agg
case "$job" in
    demo)
        exec "$VENV/bin/bmtoolkit" demo "$@"
        ;;
    test)
        # CI also builds NEST with MPI (once per machine, cached) so the distributed pointnet
        # tests run; elsewhere set BMTOOLKIT_NEST_MPI=1 to do the same. A failed build only
        # makes those tests skip, saying why.
        if [ "${CI:-}" = "true" ] || [ "${BMTOOLKIT_NEST_MPI:-}" = "1" ]; then
            nest_version="$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("nest-simulator"))')"
            prefix="${BMTOOLKIT_NEST_MPI_PREFIX:-${XDG_CACHE_HOME:-$HOME/.cache}/bmtoolkit/nest-mpi-$nest_version}"
            if [ ! -f "$prefix/bin/nest_vars.sh" ]; then
                echo "bootstrap: building NEST $nest_version with MPI into $prefix (once, ~20 min)"
                timeout 3000 bash scripts/install-nest-mpi.sh --apt --prefix "$prefix" \
                    > "${TMPDIR:-/tmp}/bmtoolkit-nest-mpi-build.log" 2>&1 \
                    || echo "bootstrap: NEST MPI build failed (log: ${TMPDIR:-/tmp}/bmtoolkit-nest-mpi-build.log)"
            fi
            export BMTOOLKIT_NEST_MPI_PREFIX="$prefix"
        fi
        "$VENV/bin/ruff" check .
        "$VENV/bin/ruff" format --check .
        # The suite starts from empty caches every time, as on a fresh machine: compiled
        # mechanisms, matplotlib's font cache, hypothesis' example database and pytest's
        # cache all live in a temporary folder removed afterwards, so a missing install step
        # or a test that only passes after another one filled a cache fails here too.
        # (The NEST-with-MPI build above is an installation, not a cache: it is kept.)
        scratch="$(mktemp -d "${TMPDIR:-/tmp}/bmtoolkit-test.XXXXXX")"
        trap 'rm -rf "$scratch"' EXIT
        export BMTOOLKIT_CACHE_DIR="$scratch/cache"
        export MPLCONFIGDIR="$scratch/matplotlib"
        export BMTOOLKIT_HYPOTHESIS_DIR="$scratch/hypothesis"
        # the typed seams (sonata, simulator core ...; [tool.mypy] in pyproject.toml)
        "$VENV/bin/mypy" --cache-dir "$scratch/mypy"
        echo "bootstrap: running the tests with empty caches in $scratch"
        # the test suite plus every docstring example in the package
        "$VENV/bin/python" -m pytest -q -n 2 --dist worksteal -p no:cacheprovider --doctest-modules tests bmtoolkit "$@"
        if [ $# -eq 0 ]; then
            core_only_tests
        else
            echo "bootstrap: arguments given, so the core-only tests are left out"
        fi
        ;;
    *)
        echo "usage: bash scripts/bootstrap.sh demo|test [args...]" >&2
        exit 2
        ;;
esac
