"""Skipping ends only the model now training: it keeps its best weights and is evaluated, the
next model trains on the same prepared customers, and a stop of the whole run still wins."""

from __future__ import annotations

import threading

import pytest

from core.demo import make_demo
from core.protocol import run_experiment
from core.tasks import TaskState


@pytest.fixture(scope="module")
def small():
    return make_demo(n_customers=200, n_days=60, seed=3, missing_rate=0.002, zero_rate=0.002)


def test_skip_during_the_first_epoch_keeps_that_model_and_trains_the_next(small):
    skip = threading.Event()
    seen: list[tuple[str, int]] = []

    def listen(kind, payload):
        if kind == "batch" and payload["model"] == "mlp":
            seen.append(("mlp", payload["epoch"]))
            skip.set()  # pressed while mlp's first epoch trains

    result = run_experiment(
        small,
        models=("mlp", "gbm"),
        model_params={"mlp": {"batch_size": 16}, "gbm": {"max_iter": 20}},
        epochs=3,
        patience=3,
        state=TaskState(on_event=listen),
        skip=skip,
    )

    mlp, gbm = result.outcomes["mlp"], result.outcomes["gbm"]
    assert {epoch for _, epoch in seen} == {1}  # no batch of a second epoch
    assert mlp.ok and mlp.stopped
    assert len(mlp.history["loss"]) == 0  # ended inside its first epoch
    assert 0.0 <= mlp.metrics["roc_auc"] <= 1.0  # evaluated with the weights it had
    assert len(mlp.test_scores) == len(gbm.test_scores) > 0  # the same test customers
    assert gbm.ok and not gbm.stopped
    assert gbm.metrics["roc_auc"] is not None
    assert not skip.is_set()  # cleared for the next model


def test_a_stop_of_the_run_during_a_skip_ends_everything(small):
    state = TaskState()
    skip = threading.Event()

    def listen(kind, payload):
        if kind == "batch":
            skip.set()
            state.cancel()

    state._on_event = listen
    result = run_experiment(
        small,
        models=("mlp", "gbm"),
        model_params={"mlp": {"batch_size": 16}},
        epochs=3,
        patience=3,
        state=state,
        skip=skip,
    )
    assert result.outcomes["mlp"].stopped
    assert not result.outcomes["gbm"].ok  # not run: the run was ended
