"""Forecasting grokking: from a run's history up to a cut, will it reach G = 0.9 within its
budget, and when? Predictors (predictors.py) are calibrated on other recipes' runs and scored
leave-one-recipe-out on committed records (score.py); `grokbench forecast`
(board/forecast_command.py) and the board's forecast section (board/forecast_section.py) read the
same functions. This package reads the board's frame rows but imports nothing of the board.

Definitions, fixed before any committed record was scored (commit of this package):

- the run's clock starts at memorization as seen online: at each evaluation the profile of the
  history so far (grokbench/profile, the board's levels and reference) gives t_mem; the first
  evaluation at or after CUT_FACTOR x t_mem is the cut, and a predictor sees only rows up to it.
  CUT_FACTOR = 1.5 is log10 1.5 = 0.18 decades after memorization, inside the declared minimum
  plateau (0.225 decades, profile/levels.py): a run that groks is still flat at the cut, so the
  forecast is made while the held-out metric says nothing yet.
- the target: the step of sustained G = 0.9 in the run's full profile as the board computes it
  (`generalized_step`, recomputed with the control's level), within the run's step budget
  (`trainer.max_steps`). A run already at G = 0.9 at its cut is decided before the cut and not
  scored (counted apart), as is a run that never memorized or whose cut lies past its last step.
- scoring (per held-out run): hit (predicted to reach within budget, and it did), false alarm
  (predicted, and it did not), miss (not predicted, and it did; an abstention counts here),
  correct rejection. On hits: absolute percentage error of the predicted step and of the
  predicted delay (t - t_mem, the quantity of the 17.7% anchor of Khanh et al. 2026), and the
  lead time log10(t_actual / t_cut) in decades: how long before the jump the forecast was made.
"""

from grokbench.forecast.history import CUT_FACTOR, RunHistory, histories
from grokbench.forecast.predictors import PREDICTORS, Prediction
from grokbench.forecast.score import HOLD_OUT, Scored, score_leave_out

__all__ = ["CUT_FACTOR", "HOLD_OUT", "PREDICTORS", "Prediction", "RunHistory", "Scored", "histories",
           "score_leave_out"]
