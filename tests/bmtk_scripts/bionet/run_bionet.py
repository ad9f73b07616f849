"""Simulates one biophysical cell driven by Poisson input and a current clamp."""

import os
import sys

from bmtk.simulator import bionet


def run(config_path):
    conf = bionet.Config.from_json(config_path, validate=True)
    conf.build_env()

    graph = bionet.BioNetwork.from_config(conf)
    sim = bionet.BioSimulator.from_config(conf, network=graph)
    sim.run()
    bionet.nrn.quit_execution()


if __name__ == "__main__":
    if __file__ != sys.argv[-1]:
        config_path = sys.argv[-1]
        if not os.path.exists(config_path):
            raise AttributeError(f"configuration file {config_path} does not exist.")
    else:
        config_path = "config.json"
    run(config_path)
