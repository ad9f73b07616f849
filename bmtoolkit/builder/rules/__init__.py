"""Connection rules: the vectorized interface and the rule library.

Every rule is a :class:`~bmtoolkit.builder.rules.base.ConnectionRule`; pass an instance as
``connection_rule`` to ``NetworkBuilder.add_edges``, or a registered name with
``connection_params`` (``connection_rule="distance", connection_params={"p0": 0.1, ...}``).

Examples
--------
>>> from bmtoolkit.builder.rules import CONNECTION_RULES
>>> "like_to_like" in CONNECTION_RULES.names()
True
"""

from bmtoolkit.builder.rules.base import (
    CONNECTION_RULES,
    ConnectionRule,
    Connections,
    NodeBlock,
    SynapseCount,
    bernoulli_pairs,
    make_rule,
)
from bmtoolkit.builder.rules.callables import (
    AllToOneCallable,
    ConstantCount,
    OneToAllCallable,
    PairCallable,
    make_callable_rule,
)
from bmtoolkit.builder.rules.distance import DISTANCE_PROFILES, DistanceProbability, ThinnedRule
from bmtoolkit.builder.rules.like_to_like import (
    TUNING_FUNCTIONS,
    LikeToLike,
    Tuning,
    orientation_difference,
)
from bmtoolkit.builder.rules.random import (
    AllToAll,
    FixedInDegree,
    FixedOutDegree,
    FixedProbability,
    OneToOne,
)
from bmtoolkit.builder.rules.retinotopic import RetinotopicLGN

__all__ = [
    "CONNECTION_RULES",
    "DISTANCE_PROFILES",
    "TUNING_FUNCTIONS",
    "AllToAll",
    "AllToOneCallable",
    "ConnectionRule",
    "Connections",
    "ConstantCount",
    "DistanceProbability",
    "FixedInDegree",
    "FixedOutDegree",
    "FixedProbability",
    "LikeToLike",
    "NodeBlock",
    "OneToAllCallable",
    "OneToOne",
    "PairCallable",
    "RetinotopicLGN",
    "SynapseCount",
    "ThinnedRule",
    "Tuning",
    "bernoulli_pairs",
    "make_callable_rule",
    "make_rule",
    "orientation_difference",
]
