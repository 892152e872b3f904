"""``just chaos``: a bounded soak under random faults, then an invariant check.

The soak runs a platform of its own, places orders at a steady rate while faults drawn
from a seed hit it (:mod:`.plan`, :mod:`.faults`), lets it settle (:mod:`.quiesce`), reads
what every service recorded (:mod:`.observe`) and checks the platform's promises over
that data (:mod:`.invariants`, a pure function), then reports (:mod:`.report`).
"""
