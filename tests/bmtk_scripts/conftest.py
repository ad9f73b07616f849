"""The tutorial-style scripts here are run by the tests, never imported
(``--doctest-modules`` would run them at collection)."""

collect_ignore_glob = ["pointnet/*.py", "bionet/*.py"]
