"""Sphinx configuration of the bmtoolkit documentation (``sphinx-build -W -b html docs out``)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("MPLBACKEND", "Agg")

import bmtoolkit  # noqa: E402

project = "bmtoolkit"
author = "bmtoolkit contributors"
copyright = "bmtoolkit contributors"  # noqa: A001
release = bmtoolkit.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "sphinx.ext.viewcode",
    "myst_nb",  # Markdown pages and the tutorial notebooks (myst_nb includes myst_parser)
]
source_suffix = {".rst": "restructuredtext", ".md": "myst-nb", ".ipynb": "myst-nb"}
# docs/notebooks/ links to the notebooks in tutorials/, rendered with the outputs stored in
# them (scripts/refresh_tutorials.py re-executes them); the docs build never runs them
nb_execution_mode = "off"
root_doc = "index"
exclude_patterns = ["_build"]
myst_enable_extensions = ["colon_fence"]
myst_heading_anchors = 3

napoleon_google_docstring = False
napoleon_numpy_docstring = True
napoleon_use_rtype = False
# "Attributes" sections as field lists, so dataclass fields are not described twice
napoleon_use_ivar = True
autodoc_typehints = "description"
autodoc_member_order = "bysource"
autodoc_default_options = {"members": True, "undoc-members": False, "show-inheritance": False}
# optional simulators are imported lazily by the code; mock them so autodoc never needs them
autodoc_mock_imports = ["nest", "neuron", "torch", "mpi4py"]
# numpydoc sections name types that are not cross-referenced targets
suppress_warnings = ["ref.python", "ref.class", "ref.obj", "myst.xref_missing"]
nitpicky = False

html_theme = "alabaster"
html_title = f"bmtoolkit {release}"
