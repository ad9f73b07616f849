"""The ``bmtoolkit create-environment --backend filternet`` example folder.

Examples
--------
>>> s = scaffold(100.0)
>>> s.simulation["run"]["tstop"]
100.0
"""

from __future__ import annotations

from bmtoolkit.simulator.core.scaffold import Scaffold, backend_scaffold


def scaffold(tstop: float) -> Scaffold:
    """The example folder of ``bmtoolkit create-environment --backend filternet``."""
    network = '''
# LGN filter units (ON and OFF sustained cells) over a 60 x 60 degree field
from bmtoolkit.builder.lgn import LGNTypeSpec, lgn_node_groups

lgn = NetworkBuilder("lgn")
types = (LGNTypeSpec("sON_TF4", 20, (2.0, 4.0)), LGNTypeSpec("sOFF_TF4", 20, (2.0, 4.0)))
for props in lgn_node_groups(field_size=(60.0, 60.0), tiles=(2, 2), types=types, seed=5):
    lgn.add_nodes(**props)
lgn.build(seed=2)
lgn.save(output_dir=NETWORK_DIR)
'''  # fmt: skip
    return backend_scaffold(
        "LGNModel",
        tstop,
        dt=1.0,
        network=network,
        nodes=("lgn",),
        components={
            "filter_models/README.txt": (
                "LGN spatio-temporal filters are built from each node's properties (model_template\n"
                "lgnmodel:<type>, spatial_size, kpeaks, weights, delays); no files are needed.\n"
            )
        },  # fmt: skip
        component_dirs={"filter_models_dir": "filter_models"},
        inputs={
            "movie": {
                "input_type": "movie",
                "module": "grating",
                "row_size": 60,
                "col_size": 60,
                "sf": 0.05,
                "tf": 4.0,
                "orientation": 90.0,
                "contrast": 0.8,
                "gray_screen_dur": 0.5 * tstop / 1000.0,
            },
        },
        output={"rates_file": "rates.h5"},
    )
