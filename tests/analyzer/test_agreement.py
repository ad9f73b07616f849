"""spike_agreement pairs spikes exactly, then one-to-one within a tolerance, and finds the
first difference between two runs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from bmtoolkit.analyzer.agreement import spike_agreement
from bmtoolkit.exceptions import ConfigError


def _spikes(nodes, times):
    return pd.DataFrame({"node_id": nodes, "timestamp": times})


def test_identical_runs_agree_everywhere():
    rng = np.random.default_rng(0)
    ref = _spikes(rng.integers(0, 50, 400), np.round(rng.uniform(0, 500, 400), 1))
    ref = ref.drop_duplicates(["node_id", "timestamp"])
    a = spike_agreement(ref, ref.sample(frac=1.0, random_state=1), tolerance=0.1)
    assert a.exact == a.within == a.n_reference == a.n_other == len(ref)
    assert a.first_divergence is None and a.fraction_within == 1.0


def test_pairs_are_one_to_one_within_the_tolerance():
    # node 0: 10.0 pairs 10.1 (one step); 10.2 cannot reuse 10.1 and pairs nothing else
    ref = _spikes([0, 0, 1, 1, 2], [10.0, 10.2, 3.0, 7.0, 4.0])
    other = _spikes([0, 1, 1, 2, 3], [10.1, 3.0, 7.25, 4.0, 1.0])
    a = spike_agreement(ref, other, tolerance=0.1)
    assert (a.exact, a.within) == (2, 3)  # exact: (1, 3.0), (2, 4.0); within adds (0, 10.0)
    assert a.first_divergence == 1.0  # node 3's spike, present only in `other`
    assert a.fraction_within == pytest.approx(3 / 5)
    # 0.3 ms: (1, 7.0) pairs 7.25 too; node 0 still has one partner for two spikes
    assert spike_agreement(ref, other, tolerance=0.3).within == 4


def test_per_group_counts_and_difference():
    ref = _spikes([0, 0, 1, 2, 2, 2], [1.0, 2.0, 1.5, 0.5, 0.7, 0.9])
    other = _spikes([0, 1, 2, 2], [1.0, 1.5, 0.5, 0.7])
    groups = pd.Series({0: "exc", 1: "exc", 2: "inh", 3: "silent"})
    t = spike_agreement(ref, other, tolerance=0.1, groups=groups).groups
    assert t.index.tolist() == ["exc", "inh", "silent"]
    assert t.loc["exc", ["reference", "other", "within"]].tolist() == [3, 2, 2]
    assert t.loc["inh", ["reference", "other", "within"]].tolist() == [3, 2, 2]
    assert t.loc["exc", "difference_pct"] == pytest.approx(-100 / 3)
    assert np.isnan(t.loc["silent", "difference_pct"])


def test_missing_columns_and_negative_tolerance_are_config_errors():
    with pytest.raises(ConfigError, match=r"other: other spikes need columns .*'timestamp'"):
        spike_agreement(_spikes([0], [1.0]), pd.DataFrame({"node_id": [0]}), tolerance=0.1)
    with pytest.raises(ConfigError, match="must be >= 0"):
        spike_agreement(_spikes([0], [1.0]), _spikes([0], [1.0]), tolerance=-1.0)
