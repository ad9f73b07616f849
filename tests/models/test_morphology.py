"""Point rounding of SWC morphologies, shared by the builder and the NEURON backend."""

from __future__ import annotations

import numpy as np


def test_round_significant_is_bit_identical_to_g_formatting():
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from bmtoolkit.models.morphology import round_significant

    @settings(max_examples=300, deadline=None)
    @given(
        st.lists(st.floats(allow_nan=False, allow_infinity=True), min_size=1, max_size=50),
        st.integers(1, 15),
    )
    def check(values, digits):
        ours = round_significant(values, digits)
        expected = [float(f"{v:.{digits}g}") for v in values]
        assert ours.tobytes() == np.array(expected).tobytes()

    check()
    # ties and decade edges are formatted as text
    edges = [0.5, 2.5, 1234562.5, 999999.5, 1e-5, 9.999995, 99999.95, 237.4944, 5e-324]
    ours = round_significant(edges, 6)
    assert ours.tolist() == [float(f"{v:.6g}") for v in edges]
