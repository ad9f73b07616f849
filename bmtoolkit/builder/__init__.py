"""Declare nodes and edges and save them as SONATA (see :class:`NetworkBuilder`)."""
