"""Arrays for the exploration charts, computed off the GUI thread.

Every function takes a :class:`~core.dataset.ConsumptionData`, a ``group`` selector
(``"theft"``, ``"normal"``, ``"both"``, ``"all"`` or a customer id; see
:mod:`core.explore.groups`) and an optional :class:`~core.tasks.TaskState`. It returns a
result dataclass, or ``{"theft": ..., "normal": ...}`` for ``"both"``. Each result has
``defined``, ``reason`` and ``notes``: when a chart would be meaningless (an empty class, a
constant curve, too few readings) ``defined`` is False, ``reason`` says why and the arrays are
empty, so nothing misleading is drawn.

Missing readings are never taken as zero: means skip them, the correlation uses the customers
read on both days, ACF and STL fill inner gaps by interpolation and say so.
"""

from core.explore.correlation import DayCorrelation, day_correlation
from core.explore.groups import GROUP_WORDS, ExploreResult, Group, select_groups
from core.explore.histogram import Histogram, consumption_histogram
from core.explore.means import (
    WEEKDAYS,
    DailyMeans,
    PeriodMeans,
    WeekdayProfile,
    daily_means,
    period_means,
    weekday_profile,
)
from core.explore.series import Autocorrelation, Decomposition, autocorrelation, decompose

__all__ = [
    "GROUP_WORDS",
    "WEEKDAYS",
    "Autocorrelation",
    "DailyMeans",
    "DayCorrelation",
    "Decomposition",
    "ExploreResult",
    "Group",
    "Histogram",
    "PeriodMeans",
    "WeekdayProfile",
    "autocorrelation",
    "consumption_histogram",
    "daily_means",
    "day_correlation",
    "decompose",
    "period_means",
    "select_groups",
    "weekday_profile",
]
