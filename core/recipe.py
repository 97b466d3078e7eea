"""The preparation recipe: which cleaning steps run, with which settings, and what they learned.

A :class:`Recipe` is the user's choice, recorded as plain JSON. Fitting it on the training
customers gives a :class:`FittedRecipe`: the same choice plus what the steps learned there (the
donor customers for KNN, the day ranges for scaling). The fitted recipe turns any data set of
the same day count into a :class:`Prepared` matrix for the models, always the same way, so the
customers scored later are prepared exactly like those the model was trained on.

Order of the steps, as in the reference study: missing-data filter, imputation, outliers,
scaling. Outlier fences are per customer and computed on each customer's own readings at
transform time; they learn nothing across customers.

The fitted state is saved without pickle: a JSON-able dict and named numpy arrays
(:meth:`FittedRecipe.to_json_and_arrays`).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from core.cleaning.imputation import IMPUTATION_METHODS, impute
from core.cleaning.missing import filter_customers
from core.cleaning.outliers import OUTLIER_RULES, OUTLIER_TREATMENTS, treat_outliers
from core.cleaning.scaling import DEFAULT_CLIP, SCALINGS, DayRanges, scale_per_customer
from core.dataset import ConsumptionData, ImportNote
from core.errors import ArtifactError, EtdError
from core.tasks import TaskState, ensure_state

log = logging.getLogger(__name__)

RECIPE_VERSION = 1
FITTED_FORMAT = "etd-fitted-recipe"


class RecipeError(EtdError):
    """A recipe has a value the steps cannot use; the message names the setting."""


# section -> {key in JSON: (attribute, kind)}; the JSON groups settings by step.
_LAYOUT = {
    "missing_filter": {
        "threshold": ("threshold", "share"),
        "zeros_as_missing": ("zeros_as_missing", "bool"),
        "min_days": ("min_days", "count"),
    },
    "imputation": {"method": ("imputation", IMPUTATION_METHODS), "k": ("k", "neighbours")},
    "outliers": {
        "rule": ("outlier_rule", OUTLIER_RULES),
        "factor": ("outlier_factor", "positive"),
        "treatment": ("outlier_treatment", OUTLIER_TREATMENTS),
    },
    "scaling": {
        "method": ("scaling", SCALINGS),
        "clip": ("scale_clip", "clip"),
        "high_quantile": ("scale_high_quantile", "high_quantile"),
    },
}


@dataclass
class Recipe:
    """The chosen cleaning steps. The defaults are the reference method.

    - missing-data filter: drop customers with more than ``threshold`` of their days missing
      (empty, and zero when ``zeros_as_missing``) or fewer than ``min_days`` days with readings;
    - ``imputation``: ``"knn"`` (``k`` neighbours), ``"linear"`` along time or ``"none"``;
    - outliers: ``outlier_rule`` ``"iqr"`` or ``"sigma"`` with ``outlier_factor``, and
      ``outlier_treatment`` ``"keep"``, ``"cap"``, ``"missing"`` (refilled by the chosen
      imputation, or along time when it is ``"none"``) or ``"drop"``;
    - ``scaling``: ``"minmax_day"``, ``"minmax_customer"`` or ``"none"``; scaled values of new
      customers are kept within ``[0, scale_clip]``. With ``"minmax_day"``,
      ``scale_high_quantile`` below 1 maps that quantile of each training day column to 1
      instead of its maximum (0.99: the 99th percentile), the robust choice when a few huge
      readings (commercial users, meter faults) would squash everyone else near 0; readings
      above it are kept up to ``scale_clip`` and cut there (set ``scale_clip`` to 1 to cut
      them at 1). 1.0, the default, is the reference.
    """

    threshold: float = 0.03
    zeros_as_missing: bool = True
    min_days: int = 0
    imputation: str = "knn"
    k: int = 5
    outlier_rule: str = "iqr"
    outlier_factor: float = 3.0
    outlier_treatment: str = "cap"
    scaling: str = "minmax_day"
    scale_clip: float = DEFAULT_CLIP
    scale_high_quantile: float = 1.0

    def __post_init__(self) -> None:
        for section, keys in _LAYOUT.items():
            for key, (attribute, kind) in keys.items():
                value = _checked(f"{section}.{key}", getattr(self, attribute), kind)
                setattr(self, attribute, value)

    # plain JSON ------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"version": RECIPE_VERSION}
        for section, keys in _LAYOUT.items():
            out[section] = {key: getattr(self, attribute) for key, (attribute, _) in keys.items()}
        return out

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        """A recipe from :meth:`to_dict` output; missing settings take their defaults.

        Raises :class:`RecipeError` naming the first unknown section, key or bad value.
        """
        if not isinstance(d, dict):
            raise RecipeError(f"a recipe must be a JSON object, got {type(d).__name__}")
        version = d.get("version", RECIPE_VERSION)
        if version != RECIPE_VERSION:
            raise RecipeError(
                f"recipe version {version!r} is not supported (this program reads version "
                f"{RECIPE_VERSION})",
                hint="Save the recipe again with this version of the program.",
            )
        values = {}
        for section, content in d.items():
            if section == "version":
                continue
            if section not in _LAYOUT:
                raise RecipeError(
                    f"recipe: unknown section {section!r}",
                    hint=f"Known sections: {', '.join(_LAYOUT)}.",
                )
            if not isinstance(content, dict):
                raise RecipeError(f"recipe: {section} must be an object of settings")
            for key, value in content.items():
                if key not in _LAYOUT[section]:
                    raise RecipeError(
                        f"recipe: unknown setting {section}.{key}",
                        hint=f"Known settings of {section}: {', '.join(_LAYOUT[section])}.",
                    )
                values[_LAYOUT[section][key][0]] = value
        return cls(**values)

    def describe(self) -> list[str]:
        """One readable line per step."""
        what = "empty or zero" if self.zeros_as_missing else "empty"
        lines = [
            f"missing-data filter: drop customers with over {self.threshold:.1%} of days {what}"
        ]
        if self.min_days:
            lines[0] += f" or fewer than {self.min_days} days with readings"
        if self.imputation == "knn":
            lines.append(f"imputation: KNN across customers, {self.k} neighbours")
        elif self.imputation == "linear":
            lines.append("imputation: linear interpolation along time")
        else:
            lines.append("imputation: none (gaps enter the models as 0 kWh)")
        rule = "IQR" if self.outlier_rule == "iqr" else "mean and standard deviation"
        lines.append(
            f"outliers: {rule} fences per customer, factor {self.outlier_factor:g}, "
            f"treatment {self.outlier_treatment}"
        )
        scaling = {
            "minmax_day": "min-max per day over the training customers"
            + (
                f" (high end at the {self.scale_high_quantile:.1%} quantile)"
                if self.scale_high_quantile < 1.0
                else ""
            ),
            "minmax_customer": "min-max per customer",
            "none": "none",
        }[self.scaling]
        lines.append(f"scaling: {scaling}")
        return lines

    # fitting ---------------------------------------------------------------------------------
    def fit(self, train: ConsumptionData, state: TaskState | None = None) -> FittedRecipe:
        """Learn the recipe's state on the training customers."""
        return self.fit_transform(train, state)[0]

    def fit_transform(
        self, train: ConsumptionData, state: TaskState | None = None
    ) -> tuple[FittedRecipe, Prepared]:
        """Fit on ``train`` and return it prepared, as ``fit(train).transform(train)`` would."""
        state = ensure_state(state)
        started = time.perf_counter()
        cleaned = _clean(train, self, donors=None, state=state.child(0.0, 0.95))
        if cleaned.data.n_customers == 0:
            raise RecipeError(
                f"the cleaning kept none of the {train.n_customers} training customers",
                hint="Raise the missing-data threshold or choose another outlier treatment.",
            )
        ranges = None
        if self.scaling == "minmax_day":
            ranges = DayRanges.fit(cleaned.data.kwh, high_quantile=self.scale_high_quantile)
        fitted = FittedRecipe(
            recipe=self,
            n_days=train.n_days,
            donors=cleaned.donors if self.imputation == "knn" else None,
            day_ranges=ranges,
            first_day=train.days[0].date().isoformat() if train.n_days else "",
            last_day=train.days[-1].date().isoformat() if train.n_days else "",
            fit_summary=_summary(cleaned.report),
        )
        prepared = fitted._finish(cleaned, started)
        state.set_progress(1.0)
        log.info(
            "recipe fitted on %d customers (%d kept) in %.1f s",
            train.n_customers,
            cleaned.data.n_customers,
            time.perf_counter() - started,
        )
        return fitted, prepared


@dataclass
class Prepared:
    """A data set made ready for the models by a fitted recipe.

    ``X`` (float32, kept customers x days, finite, scaled), ``data`` (the kept customers with
    cleaned kWh before scaling), ``kept`` (bool over the input customers), ``dropped_reasons``
    (customer id -> why it was dropped), ``imputed_mask`` and ``outlier_mask`` (bool, shape of
    ``X``: readings filled in, readings outside the fences) and ``report`` (JSON-able).
    """

    X: np.ndarray
    data: ConsumptionData
    kept: np.ndarray
    dropped_reasons: dict[str, str]
    imputed_mask: np.ndarray
    outlier_mask: np.ndarray
    report: dict[str, Any] = field(default_factory=dict)


@dataclass
class FittedRecipe:
    """A recipe with the state it learned on the training customers."""

    recipe: Recipe
    n_days: int
    donors: np.ndarray | None = None
    day_ranges: DayRanges | None = None
    first_day: str = ""
    last_day: str = ""
    fit_summary: dict[str, Any] = field(default_factory=dict)

    def transform(self, data: ConsumptionData, state: TaskState | None = None) -> Prepared:
        """Prepare ``data`` (same day count as the training data) for the models.

        Customers the filter drops are not scorable; their reasons are in ``dropped_reasons``.
        """
        if data.n_days != self.n_days:
            raise RecipeError(
                f"the recipe was fitted on {self.n_days} days ({self.first_day} .. "
                f"{self.last_day}); this data set has {data.n_days}",
                hint="Use data covering the same number of days as the training data.",
            )
        state = ensure_state(state)
        started = time.perf_counter()
        cleaned = _clean(data, self.recipe, donors=self.donors, state=state.child(0.0, 0.95))
        prepared = self._finish(cleaned, started)
        state.set_progress(1.0)
        return prepared

    def _finish(self, cleaned: CleaningResult, started: float) -> Prepared:
        recipe = self.recipe
        kwh = cleaned.data.kwh
        gaps = np.isnan(kwh)
        # With no imputation the gaps enter the models as "no consumption recorded".
        ready = np.where(gaps, 0.0, kwh).astype(np.float32)
        if recipe.scaling == "minmax_day":
            X = self.day_ranges.apply(ready, recipe.scale_clip)
        elif recipe.scaling == "minmax_customer":
            X = scale_per_customer(ready)
        else:
            X = ready
        X = np.ascontiguousarray(X, dtype=np.float32)
        if not np.isfinite(X).all():  # a bug in a step above, never the user's data
            raise RuntimeError("prepared matrix is not finite")

        report = dict(cleaned.report)
        report["scaling"] = {
            "method": recipe.scaling,
            "clip": recipe.scale_clip if recipe.scaling == "minmax_day" else None,
            "high_quantile": (
                recipe.scale_high_quantile if recipe.scaling == "minmax_day" else None
            ),
            "gaps_as_zero": int(gaps.sum()),
        }
        report["seconds"] = round(time.perf_counter() - started, 3)
        return Prepared(
            X=X,
            data=cleaned.data,
            kept=cleaned.kept,
            dropped_reasons=cleaned.dropped_reasons,
            imputed_mask=cleaned.imputed_mask,
            outlier_mask=cleaned.outlier_mask,
            report=report,
        )

    # persistence without pickle ----------------------------------------------------------------
    def to_json_and_arrays(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        meta = {
            "format": FITTED_FORMAT,
            "version": RECIPE_VERSION,
            "recipe": self.recipe.to_dict(),
            "n_days": int(self.n_days),
            "first_day": self.first_day,
            "last_day": self.last_day,
            "fit_summary": self.fit_summary,
        }
        arrays: dict[str, np.ndarray] = {}
        if self.donors is not None:
            arrays["donors"] = np.ascontiguousarray(self.donors, dtype=np.float32)
        if self.day_ranges is not None:
            arrays["day_low"] = self.day_ranges.low.astype(np.float64)
            arrays["day_span"] = self.day_ranges.span.astype(np.float64)
        return meta, arrays

    @classmethod
    def from_json_and_arrays(
        cls, meta: dict[str, Any], arrays: dict[str, np.ndarray]
    ) -> FittedRecipe:
        """Rebuild from :meth:`to_json_and_arrays`; :class:`ArtifactError` if anything is off."""
        if not isinstance(meta, dict) or meta.get("format") != FITTED_FORMAT:
            raise ArtifactError("the stored preparation is not a fitted recipe")
        if meta.get("version") != RECIPE_VERSION:
            raise ArtifactError(
                f"fitted recipe version {meta.get('version')!r} is not supported",
                hint="Train the model again with this version of the program.",
            )
        try:
            recipe = Recipe.from_dict(meta["recipe"])
            n_days = int(meta["n_days"])
        except (KeyError, TypeError, ValueError, RecipeError) as err:
            raise ArtifactError(f"the stored recipe cannot be read: {err}") from err

        def array(name: str, dtype, ndim: int) -> np.ndarray:
            if name not in arrays:
                raise ArtifactError(f"the fitted recipe lacks its {name!r} array")
            value = np.asarray(arrays[name])
            if value.ndim != ndim or value.shape[-1] != n_days or value.dtype.kind != "f":
                raise ArtifactError(
                    f"the fitted recipe's {name!r} array has shape {value.shape} and type "
                    f"{value.dtype}; expected {n_days} days of floating-point values"
                )
            return value.astype(dtype)

        donors = array("donors", np.float32, 2) if recipe.imputation == "knn" else None
        ranges = None
        if recipe.scaling == "minmax_day":
            low, span = array("day_low", np.float64, 1), array("day_span", np.float64, 1)
            if not (np.isfinite(low).all() and np.isfinite(span).all() and (span >= 0).all()):
                raise ArtifactError("the fitted recipe's day ranges are not finite and positive")
            ranges = DayRanges(low=low, span=span)
        return cls(
            recipe=recipe,
            n_days=n_days,
            donors=donors,
            day_ranges=ranges,
            first_day=str(meta.get("first_day", "")),
            last_day=str(meta.get("last_day", "")),
            fit_summary=dict(meta.get("fit_summary", {})),
        )


def clean(
    data: ConsumptionData, recipe: Recipe | None = None, state: TaskState | None = None
) -> tuple[ConsumptionData, dict[str, Any]]:
    """Filter, impute and treat outliers of ``data`` on its own (no scaling, nothing kept).

    For the ``etd clean`` command and the GUI's cleaning wizard: the result is a data set of
    cleaned kWh, with what each step did in the report and in the data set's notes.
    """
    result = clean_with_masks(data, recipe, state)
    return result.data, result.report


def clean_with_masks(
    data: ConsumptionData, recipe: Recipe | None = None, state: TaskState | None = None
) -> CleaningResult:
    """:func:`clean` with everything the wizard plots: which readings were filled or flagged,
    and the readings before cleaning."""
    recipe = recipe or Recipe()
    state = ensure_state(state)
    started = time.perf_counter()
    result = _clean(data, recipe, donors=None, state=state)
    result.report["seconds"] = round(time.perf_counter() - started, 3)
    state.set_progress(1.0)
    return result


# the shared steps ----------------------------------------------------------------------------
@dataclass
class CleaningResult:
    """What the cleaning steps made of a data set.

    ``data``: the customers kept, cleaned kWh. ``raw``: the same customers' readings before
    cleaning. ``kept``: bool over the input customers. ``dropped_reasons``: customer id ->
    why. ``imputed_mask``, ``outlier_mask``: bool, shape of ``data.kwh``. ``donors``: readings
    of every customer the missing-data filter kept, before imputation (the KNN donors a fit
    stores). ``report``: JSON-able.
    """

    data: ConsumptionData
    raw: np.ndarray
    kept: np.ndarray
    dropped_reasons: dict[str, str]
    imputed_mask: np.ndarray
    outlier_mask: np.ndarray
    donors: np.ndarray
    report: dict[str, Any]


def _clean(
    data: ConsumptionData, recipe: Recipe, *, donors: np.ndarray | None, state: TaskState
) -> CleaningResult:
    """Filter, impute, treat outliers. ``donors=None`` means the kept customers serve as their
    own KNN donors (fitting); their raw readings come back as ``donors`` for later use."""
    kept_data, kept, filter_report = filter_customers(
        data,
        threshold=recipe.threshold,
        zeros_as_missing=recipe.zeros_as_missing,
        min_days=recipe.min_days,
        state=state.child(0.0, 0.03),
    )
    reasons = dict(filter_report["dropped_customers"])
    raw = kept_data.kwh
    state.check()

    filled, imputed, impute_report = impute(
        kept_data,
        recipe.imputation,
        k=recipe.k,
        donors=donors,
        state=state.child(0.03, 0.85),
    )
    state.check()

    treated, flagged, drop, outlier_report = treat_outliers(
        filled.kwh,
        recipe.outlier_rule,
        recipe.outlier_factor,
        recipe.outlier_treatment,
        state=state.child(0.85, 0.87),
    )
    if recipe.outlier_treatment == "missing" and flagged.any():
        emptied = filled.with_kwh(treated)
        refilled, again, refill_report = impute(
            emptied,
            recipe.imputation if recipe.imputation != "none" else "linear",
            k=recipe.k,
            donors=raw if donors is None else donors,
            state=state.child(0.87, 0.97),
        )
        treated = refilled.kwh
        imputed = imputed | again
        outlier_report["refilled_by"] = refill_report["method"]
        outlier_report["refilled_cells"] = refill_report["filled_cells"]
    state.check()

    rows = np.flatnonzero(kept)
    if drop.any():
        for row in np.flatnonzero(drop):
            reasons[str(kept_data.customer_ids[row])] = (
                f"{int(flagged[row].sum())} readings outside the outlier fences"
            )
        kept = kept.copy()
        kept[rows[drop]] = False
    stay = ~drop
    note = ImportNote(
        "outliers_treated",
        f"{outlier_report['flagged_cells']} readings of {outlier_report['flagged_customers']} "
        f"customers outside the {recipe.outlier_rule.upper()} fences "
        f"(factor {recipe.outlier_factor:g}): {recipe.outlier_treatment}",
        outlier_report["flagged_cells"],
    )
    cleaned = filled.with_kwh(treated, note).subset(stay)

    report = {
        "recipe": recipe.to_dict(),
        "customers_in": int(data.n_customers),
        "customers_out": int(cleaned.n_customers),
        "filter": filter_report,
        "imputation": impute_report,
        "outliers": outlier_report,
    }
    return CleaningResult(
        data=cleaned,
        raw=raw[stay],
        kept=kept,
        dropped_reasons=reasons,
        imputed_mask=imputed[stay],
        outlier_mask=flagged[stay],
        donors=raw,
        report=report,
    )


def _summary(report: dict[str, Any]) -> dict[str, Any]:
    """The fit report without per-customer lists, small enough to store with a model."""
    filt = {k: v for k, v in report["filter"].items() if k != "dropped_customers"}
    imp = {
        k: v for k, v in report["imputation"].items() if k not in ("customers_without_readings",)
    }
    return {
        "customers_in": report["customers_in"],
        "customers_out": report["customers_out"],
        "filter": filt,
        "imputation": imp,
        "outliers": dict(report["outliers"]),
    }


def _checked(name: str, value: Any, kind: Any) -> Any:
    """``value`` converted for setting ``name``, or a RecipeError saying what is expected."""
    if isinstance(kind, tuple):
        if value not in kind:
            raise RecipeError(
                f"recipe: {name} is {value!r}; choose one of {', '.join(map(repr, kind))}"
            )
        return value
    if kind == "bool":
        if not isinstance(value, (bool, np.bool_)):
            raise RecipeError(f"recipe: {name} must be true or false, got {value!r}")
        return bool(value)
    if kind in ("count", "neighbours"):
        whole = isinstance(value, (int, np.integer)) and not isinstance(value, bool)
        least = 0 if kind == "count" else 1
        if not whole or value < least:
            raise RecipeError(
                f"recipe: {name} must be a whole number of at least {least}, got {value!r}"
            )
        return int(value)
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, bool
    )
    if not number or not np.isfinite(value):
        raise RecipeError(f"recipe: {name} must be a number, got {value!r}")
    value = float(value)
    if kind == "share" and not 0.0 <= value <= 1.0:
        raise RecipeError(
            f"recipe: {name} is {value:g}; it is a share of days between 0 and 1 (0.03 means 3%)"
        )
    if kind == "positive" and value <= 0:
        raise RecipeError(f"recipe: {name} must be above 0, got {value:g}")
    if kind == "high_quantile" and not 0.5 <= value <= 1.0:
        raise RecipeError(
            f"recipe: {name} is {value:g}; it is a quantile between 0.5 and 1 (0.99 means the "
            "99th percentile, 1 the maximum)"
        )
    if kind == "clip" and value < 1.0:
        raise RecipeError(f"recipe: {name} must be at least 1, got {value:g}")
    return value
