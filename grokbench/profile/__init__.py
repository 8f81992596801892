"""The grokking profile: a pure function of an evaluation history (no Lightning).

`levels` declares what it reads and its levels, `analyze` computes one run's profile, and
`sensitivity` re-scores a history over the declared neighbourhood of the levels and on thinned
evaluation schedules.
"""

from grokbench.profile.analyze import (
    BAND_STATES,
    FINAL_EVALUATIONS,
    GENERALIZED,
    HALF,
    VERDICTS,
    Profile,
    analyze,
    band_halfwidth,
    describe,
    held_start,
    progress,
)
from grokbench.profile.levels import (
    FACTS,
    NEIGHBOURHOOD,
    PROFILE_VERSION,
    SCHEDULES,
    ProfileSettings,
    neighbourhood,
)

__all__ = ["BAND_STATES", "FACTS", "FINAL_EVALUATIONS", "GENERALIZED", "HALF", "NEIGHBOURHOOD", "PROFILE_VERSION",
           "SCHEDULES", "VERDICTS", "Profile", "ProfileSettings", "analyze", "band_halfwidth", "describe",
           "held_start", "neighbourhood", "progress"]
