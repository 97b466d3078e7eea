"""Cleaning steps for daily consumption: missing-data filter, imputation, outliers, scaling.

Each step is a plain function on arrays or a :class:`core.dataset.ConsumptionData`, returns its
result with a JSON-able report of what it did, and takes an optional task state for progress
and cancel. :mod:`core.recipe` chains them, fitted on training customers.
"""

from core.cleaning.imputation import IMPUTATION_METHODS, impute
from core.cleaning.interpolation import interpolate_linear
from core.cleaning.knn import knn_impute
from core.cleaning.missing import MissingProfile, filter_customers, longest_run, missing_profile
from core.cleaning.outliers import (
    OUTLIER_RULES,
    OUTLIER_TREATMENTS,
    flag_outliers,
    outlier_fences,
    row_quantiles,
    treat_outliers,
)
from core.cleaning.scaling import SCALINGS, DayRanges, scale_per_customer

__all__ = [
    "IMPUTATION_METHODS",
    "OUTLIER_RULES",
    "OUTLIER_TREATMENTS",
    "SCALINGS",
    "DayRanges",
    "MissingProfile",
    "filter_customers",
    "flag_outliers",
    "impute",
    "interpolate_linear",
    "knn_impute",
    "longest_run",
    "missing_profile",
    "outlier_fences",
    "row_quantiles",
    "scale_per_customer",
    "treat_outliers",
]
