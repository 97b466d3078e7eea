"""The two protocols' preparation: from labelled customers to the arrays the models see.

The honest order splits the customers first and fits the recipe and the oversampler on the
training customers only; the paper order fits and oversamples everybody, then splits the rows
(see :mod:`core.protocol`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from core.dataset import NORMAL, THEFT, ConsumptionData
from core.errors import TrainingError
from core.protocol.split import split_strata, stratified_split


@dataclass
class Parts:
    """Arrays the models see, whichever protocol produced them."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_val: np.ndarray
    y_val: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray
    test_ids: np.ndarray
    test_synthetic: np.ndarray
    fitted: Any
    split: dict[str, list[str]]
    not_scorable: dict[str, dict[str, str]]
    recipe_report: dict
    balance_report: dict


def oversample(X, y, balance, balance_params, seed, state):
    """(X, y, synthetic mask, report) after :func:`core.balancing.oversample`, or the input with
    no synthetic row when ``balance`` is None or "none"; a failure says how to change it."""
    if balance in (None, "none"):
        return X, y, np.zeros(len(y), dtype=bool), {"method": "none"}
    from core.balancing import oversample as balance_classes

    try:
        result = balance_classes(
            X, y, method=balance, seed=seed, state=state, **(balance_params or {})
        )
    except TypeError as err:  # an option the method does not have
        if "unexpected keyword" not in str(err):
            raise
        raise TrainingError(
            f"Oversampling with {balance!r} does not take the settings {balance_params} ({err}).",
            hint="See the Balance page or core.balancing.oversample for each method's settings.",
        ) from err
    except TrainingError as err:
        raise TrainingError(
            f"Oversampling the {int((y == THEFT).sum())} thieves and {int((y == NORMAL).sum())} "
            f"normal customers of the training part failed: {err.message}",
            hint=(err.hint + " " if err.hint else "")
            + "On the command line: --balance-param k_neighbors=K or --balance random_over.",
        ) from err
    report = dict(result.report)
    report.setdefault("method", balance)
    return result.X, result.y, np.asarray(result.synthetic, dtype=bool), report


# honest: split first --------------------------------------------------------------------------
def honest_parts(data, recipe, split, balance, balance_params, seed, state, rows=None) -> Parts:
    """Split ``data`` (or take ``rows``: train, validation, test row indices), fit ``recipe``
    on the training customers, prepare the other two with it, oversample training only."""
    if rows is None:
        rows = stratified_split(split_strata(data, recipe), split, seed)
    train_rows, val_rows, test_rows = rows
    parts = {
        "train": data.subset(train_rows),
        "validation": data.subset(val_rows),
        "test": data.subset(test_rows),
    }
    fitted, prepared = _prepare_parts(parts, recipe, state)
    not_scorable = {name: dict(p.dropped_reasons) for name, p in prepared.items()}
    _check_both_classes(prepared, parts)

    state.set_status("oversampling the training customers")
    prepared_train, prepared_val, prepared_test = prepared.values()
    y_train = prepared_train.data.labels.astype(np.int8)
    X_train, y_train, synthetic, balance_report = oversample(
        prepared_train.X, y_train, balance, balance_params, seed, state.child(0.9, 1.0)
    )
    report = dict(prepared_train.report)
    report["kept"] = {name: int(p.X.shape[0]) for name, p in prepared.items()}
    report["dropped"] = {name: len(reasons) for name, reasons in not_scorable.items()}
    return Parts(
        X_train=X_train,
        y_train=y_train,
        X_val=prepared_val.X,
        y_val=prepared_val.data.labels.astype(np.int8),
        X_test=prepared_test.X,
        y_test=prepared_test.data.labels.astype(np.int8),
        test_ids=np.asarray(prepared_test.data.customer_ids, dtype=object),
        test_synthetic=np.zeros(prepared_test.X.shape[0], dtype=bool),
        fitted=fitted,
        split={name: [str(c) for c in part.customer_ids] for name, part in parts.items()},
        not_scorable=not_scorable,
        recipe_report=report,
        balance_report={**balance_report, "synthetic_in_training": int(synthetic.sum())},
    )


def _prepare_parts(parts: dict[str, ConsumptionData], recipe, state):
    """(fitted recipe, {part: Prepared}): fitted on "train", applied to the other two."""
    state.set_status("fitting the preparation on the training customers")
    fitted, prepared_train = recipe.fit_transform(parts["train"], state=state.child(0.0, 0.6))
    state.check()
    state.set_status("preparing validation and test customers")
    prepared_val = fitted.transform(parts["validation"], state=state.child(0.6, 0.75))
    prepared_test = fitted.transform(parts["test"], state=state.child(0.75, 0.9))
    return fitted, {"train": prepared_train, "validation": prepared_val, "test": prepared_test}


def _check_both_classes(prepared: dict, parts: dict[str, ConsumptionData]) -> None:
    """Refuse a part that the missing-data filter left without thieves or normal customers."""
    for name, p in prepared.items():
        labels = p.data.labels
        if (labels == THEFT).sum() == 0 or (labels == NORMAL).sum() == 0:
            raise TrainingError(
                f"After the missing-data filter the {name} part keeps {(labels == THEFT).sum()} "
                f"thieves and {(labels == NORMAL).sum()} normal customers of "
                f"{parts[name].n_customers}: it needs both classes.",
                hint="Loosen the missing-data threshold or use a larger data set.",
            )


# paper: oversample everybody, then split the rows ---------------------------------------------
def paper_parts(data, recipe, split, balance, balance_params, seed, state) -> Parts:
    """Fit ``recipe`` on all of ``data``, oversample all of it, then split the rows (leaks)."""
    state.set_status("paper protocol: fitting the preparation on all customers")
    fitted, prepared = recipe.fit_transform(data, state=state.child(0.0, 0.8))
    state.check()
    state.set_status("paper protocol: oversampling all customers before the split")
    y_all = prepared.data.labels.astype(np.int8)
    X, y, synthetic, balance_report = oversample(
        prepared.X, y_all, balance, balance_params, seed, state.child(0.8, 0.95)
    )
    ids = _row_ids(np.asarray(prepared.data.customer_ids, dtype=object), len(y), synthetic)
    train, val, test = stratified_split(y, split, seed)
    return Parts(
        X_train=X[train],
        y_train=y[train],
        X_val=X[val],
        y_val=y[val],
        X_test=X[test],
        y_test=y[test],
        test_ids=ids[test],
        test_synthetic=synthetic[test],
        fitted=fitted,
        split={
            "train": [str(c) for c in ids[train]],
            "validation": [str(c) for c in ids[val]],
            "test": [str(c) for c in ids[test]],
        },
        not_scorable={"all": dict(prepared.dropped_reasons)},
        recipe_report=dict(prepared.report),
        balance_report={
            **balance_report,
            "synthetic_in_training": int(synthetic[train].sum()),
            "synthetic_in_validation": int(synthetic[val].sum()),
            "synthetic_in_test": int(synthetic[test].sum()),
        },
    )


def _row_ids(real_ids: np.ndarray, n_rows: int, synthetic: np.ndarray) -> np.ndarray:
    """An id per oversampled row: the customer's, then ``synthetic-NNNNNN`` for made-up rows."""
    n_made = int(synthetic.sum())
    if n_rows == len(real_ids) + n_made:  # originals first, in order, then the made-up rows
        made = np.array([f"synthetic-{i:06d}" for i in range(n_made)], dtype=object)
        return np.concatenate([real_ids, made])
    # undersampling removed rows: which customer each row is no longer known
    return np.array([f"row-{i:06d}" for i in range(n_rows)], dtype=object)
