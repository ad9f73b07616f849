"""Building and saving a network needs neither pandas nor its import time.

The types CSVs are written from plain rows; they must be byte for byte what writing the same
records through a DataFrame gives (the way they were written before), whatever mix of ints,
floats, bools, strings and missing values the node and edge types hold.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from bmtoolkit.builder.writer import types_rows
from bmtoolkit.sonata.types_table import write_types_csv, write_types_rows

VALUES = st.one_of(
    st.none(),
    st.integers(-(2**40), 2**40),
    st.floats(allow_nan=True, allow_infinity=False, width=64),
    st.booleans(),
    st.sampled_from(["e", "i", "nest:iaf_psc_alpha", "a b", "x.json"]),
    st.integers(0, 1000).map(np.int64),
    st.floats(-1e3, 1e3, width=32).map(np.float32),
)
COLUMNS = ["c0", "c1", "c2"]
RECORDS = st.lists(
    st.dictionaries(st.sampled_from(COLUMNS), VALUES, max_size=3), min_size=1, max_size=5
)


@settings(max_examples=300, deadline=None)
@given(records=RECORDS)
def test_types_rows_write_what_a_dataframe_writes(records, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("csv")
    columns = ["type_id", *COLUMNS]
    records = [{"type_id": 100 + i, **r} for i, r in enumerate(records)]
    write_types_csv(pd.DataFrame(records, columns=columns), tmp / "frame.csv")
    write_types_rows(columns, types_rows(records, columns), tmp / "rows.csv")
    assert (tmp / "rows.csv").read_bytes() == (tmp / "frame.csv").read_bytes()


def test_building_and_saving_imports_no_pandas(tmp_path):
    script = textwrap.dedent(
        f"""
        import sys
        import numpy as np
        from bmtoolkit.builder import NetworkBuilder

        net = NetworkBuilder("v1")
        net.add_nodes(N=5, x=np.arange(5.0), y=np.zeros(5), z=np.zeros(5), ei="e",
                      model_type="point_neuron", model_template="nest:iaf_psc_alpha")
        net.add_nodes(N=3, ei="i", tau=2, model_type="point_neuron")
        net.add_edges(source={{"ei": "e"}}, connection_rule=lambda s, t: 1,
                      syn_weight=2, delay=1.5, dynamics_params="e2x.json")
        net.add_edges(source={{"ei": "i"}}, connection_rule=2, syn_weight=-1.5)
        net.build(seed=1, progress=False)
        net.save({str(tmp_path)!r})
        print("PANDAS", "pandas" in sys.modules)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[-1] == "False", "pandas was imported by build or save"
    edge_types = (tmp_path / "v1_v1_edge_types.csv").read_text().splitlines()
    # an int weight beside a float one is written as a float, as a DataFrame column makes it
    assert [line.split()[3] for line in edge_types[1:]] == ["2.0", "-1.5"]
