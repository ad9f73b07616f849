"""Sub-commands of the ``bmtoolkit`` command line (see :mod:`bmtoolkit.cli`)."""
