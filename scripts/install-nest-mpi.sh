#!/usr/bin/env bash
# Build NEST with MPI (OpenMPI) from its source release, for distributed pointnet runs.
#
# NEST's PyPI wheel has no MPI. This script takes the source release of the same version
# from PyPI (the nest-simulator sdist holds the full C++ source), builds it with CMake
# against OpenMPI, and installs it under a prefix that does not touch the wheel in the
# virtualenv. Use it by sourcing the prefix's nest_vars.sh before running under mpiexec:
#
#   scripts/install-nest-mpi.sh                       # builds into ./.nest-mpi
#   source .nest-mpi/bin/nest_vars.sh
#   mpiexec -n 4 .venv/bin/python -m bmtoolkit.cli run config.json
#
# Options (environment variables or flags):
#   --prefix DIR      install prefix              (NEST_MPI_PREFIX, default ./.nest-mpi)
#   --version X.Y.Z   NEST version                (NEST_VERSION, default: the installed wheel's,
#                                                  else 3.10.0)
#   --python PATH     Python the bindings target  (PYTHON, default .venv/bin/python)
#   --jobs N          parallel compile jobs       (JOBS, default: number of cores)
#   --source FILE     use this nest-simulator-X.Y.Z.tar.gz instead of downloading it
#   --apt             install the system packages with apt-get (needs root)
#
# System packages: cmake g++ make openmpi-bin libopenmpi-dev libltdl-dev libreadline-dev, and
# libgsl-dev (optional: without it NEST lacks glif_cond and other ODE-solver models);
# Python packages: cython numpy mpi4py (mpi4py gathers spikes across ranks).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PREFIX="${NEST_MPI_PREFIX:-$here/.nest-mpi}"
PYTHON="${PYTHON:-$here/.venv/bin/python}"
JOBS="${JOBS:-$(nproc 2>/dev/null || echo 2)}"
SOURCE=""
APT=0
NEST_VERSION="${NEST_VERSION:-}"

while [[ $# -gt 0 ]]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift 2 ;;
        --version) NEST_VERSION="$2"; shift 2 ;;
        --python) PYTHON="$2"; shift 2 ;;
        --jobs) JOBS="$2"; shift 2 ;;
        --source) SOURCE="$2"; shift 2 ;;
        --apt) APT=1; shift ;;
        -h|--help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; exit 0 ;;
        *) echo "unknown option: $1 (see --help)" >&2; exit 2 ;;
    esac
done

say() { printf '\n==> %s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

[[ -x "$PYTHON" ]] || die "Python not found at $PYTHON (use --python)"
if [[ -z "$NEST_VERSION" ]]; then
    NEST_VERSION="$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("nest-simulator"))' 2>/dev/null || echo 3.10.0)"
fi

packages=(cmake g++ make openmpi-bin libopenmpi-dev libgsl-dev libltdl-dev libreadline-dev)
if [[ "$APT" == 1 ]]; then
    say "installing system packages with apt-get"
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${packages[@]}"
fi
missing=()
for tool in cmake c++ make mpicc mpiexec; do
    command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [[ ${#missing[@]} -gt 0 ]]; then
    die "missing tools: ${missing[*]}; install: apt-get install ${packages[*]} (or rerun with --apt)"
fi

say "Python packages: cython numpy mpi4py"
"$PYTHON" -m pip install -q "cython>=3" numpy mpi4py

work="$(mktemp -d "${TMPDIR:-/tmp}/nest-mpi-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

if [[ -z "$SOURCE" ]]; then
    say "downloading the nest-simulator $NEST_VERSION source release from PyPI"
    # pip prepares the sdist's metadata with its build backend; give it one in a scratch venv
    "$PYTHON" -m venv "$work/dl"
    "$work/dl/bin/pip" install -q scikit-build-core
    "$work/dl/bin/pip" download -q --no-binary :all: --no-deps --no-build-isolation \
        -d "$work" "nest-simulator==$NEST_VERSION"
    SOURCE="$(ls "$work"/nest_simulator-"$NEST_VERSION".tar.gz)"
fi
[[ -f "$SOURCE" ]] || die "source archive not found: $SOURCE"

say "unpacking $(basename "$SOURCE")"
tar -xzf "$SOURCE" -C "$work"
src="$(find "$work" -maxdepth 1 -type d -name 'nest*simulator*' | head -n 1)"
[[ -f "$src/CMakeLists.txt" ]] || die "no CMakeLists.txt in $SOURCE"

gsl=ON
if ! command -v gsl-config >/dev/null 2>&1; then
    gsl=OFF
    echo "warning: GSL not found (apt-get install libgsl-dev): building without it;" \
        "models that need it (glif_cond, aeif_*, hh_*) will be missing" >&2
fi
say "configuring (MPI, OpenMP, GSL=$gsl, Python bindings) into $PREFIX"
cmake -S "$src" -B "$work/build" \
    -DCMAKE_INSTALL_PREFIX="$PREFIX" \
    -DCMAKE_BUILD_TYPE=Release \
    -Dwith-mpi=ON \
    -Dwith-openmp=ON \
    -Dwith-gsl="$gsl" \
    -Dwith-python=ON \
    -DPython_EXECUTABLE="$PYTHON"

say "compiling with $JOBS jobs (this takes a while)"
cmake --build "$work/build" -j "$JOBS"
cmake --install "$work/build"

vars="$PREFIX/bin/nest_vars.sh"
if [[ ! -f "$vars" ]]; then
    # NEST >= 3.7 no longer installs nest_vars.sh: write the equivalent
    pkg="$(find "$PREFIX" -maxdepth 5 -type d -path '*site-packages/nest' | head -n 1)"
    [[ -n "$pkg" ]] || die "install finished but the nest Python package is not under $PREFIX"
    libdirs="$(find "$PREFIX" -maxdepth 3 -name 'libnest*.so*' -printf '%h\n' | sort -u | paste -sd:)"
    cat > "$vars" <<VARS
# Environment for NEST $NEST_VERSION with MPI (written by bmtoolkit's install-nest-mpi.sh)
export NEST_INSTALL_DIR="$PREFIX"
export PATH="$PREFIX/bin:\$PATH"
export PYTHONPATH="$(dirname "$pkg")\${PYTHONPATH:+:\$PYTHONPATH}"
VARS
    if [[ -n "$libdirs" ]]; then
        echo "export LD_LIBRARY_PATH=\"$libdirs\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}\"" >> "$vars"
    fi
fi

if [[ "$(id -u)" == 0 ]]; then  # OpenMPI refuses root unless told otherwise
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
say "checking that the build runs under mpiexec"
# shellcheck disable=SC1090
( source "$vars" && PYNEST_QUIET=1 mpiexec --oversubscribe -n 2 "$PYTHON" -c \
    'import nest; assert nest.NumProcesses() == 2, nest.NumProcesses(); print("rank", nest.Rank(), "of", nest.NumProcesses())' )

cat <<EOF

NEST $NEST_VERSION with MPI is installed in $PREFIX.
Use it with:
    source $vars
    mpiexec -n 4 $PYTHON -m bmtoolkit.cli run config.json
Each rank simulates its share of the network; rank 0 writes the merged spike file.
EOF
