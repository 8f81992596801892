"""The grokking profile: a pure function of an evaluation history (no Lightning).

`levels` declares what it reads and its levels, `analyze` computes one run's profile,
`sensitivity` re-scores a history over the declared neighbourhood of the levels and on thinned
evaluation schedules, and `fall` reads a continued run (init_from) against its start.
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
from grokbench.profile.fall import FALL_VERDICTS, FELL, Fall, analyze_fall, describe_fall
from grokbench.profile.levels import (
    FACTS,
    NEIGHBOURHOOD,
    PROFILE_VERSION,
    SCHEDULES,
    ProfileSettings,
    neighbourhood,
)

__all__ = ["BAND_STATES", "FACTS", "FALL_VERDICTS", "FELL", "FINAL_EVALUATIONS", "GENERALIZED", "HALF",
           "NEIGHBOURHOOD", "PROFILE_VERSION", "SCHEDULES", "VERDICTS", "Fall", "Profile", "ProfileSettings",
           "analyze", "analyze_fall", "band_halfwidth", "describe", "describe_fall", "held_start", "neighbourhood",
           "progress"]
