"""``toynet``: the backend written in ``docs/design/adding_a_backend.md``, kept as a package.

It is not part of bmtoolkit: ``tests/simulator/core/test_toy_backend.py`` copies this folder
into a temporary site folder, declares it through the ``bmtoolkit.backends`` entry point and
runs the cross-backend conformance table on it.
"""
