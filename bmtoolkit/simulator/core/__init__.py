"""The simulation core shared by every backend.

- :mod:`~bmtoolkit.simulator.core.plan`: :class:`RunPlan`, the typed form of a config;
- :mod:`~bmtoolkit.simulator.core.base`: the :class:`Backend` contract and :class:`RunResult`;
- :mod:`~bmtoolkit.simulator.core.registries`: backends, inputs, reports, models, weights;
- :mod:`~bmtoolkit.simulator.core.inputs` / :mod:`~bmtoolkit.simulator.core.reports`: typed
  inputs and reports, and the shared output writers;
- :mod:`~bmtoolkit.simulator.core.models`: node-type parameters and edge tables;
- :mod:`~bmtoolkit.simulator.core.spike_generators`: Poisson spike trains;
- :mod:`~bmtoolkit.simulator.core.output`, :mod:`~bmtoolkit.simulator.core.progress`,
  :mod:`~bmtoolkit.simulator.core.runner`: output folder, progress bar, :func:`run`;
- :mod:`~bmtoolkit.simulator.core.spec`: :class:`BackendSpec`, what each backend declares;
- :mod:`~bmtoolkit.simulator.core.capabilities`: what a backend cannot do, found before setup;
- :mod:`~bmtoolkit.simulator.core.scaffold`: the ``create-environment`` example folders.

See ``docs/design/adding_a_backend.md``.
"""
