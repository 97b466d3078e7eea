import threading

import pytest

from core.tasks import Cancelled, TaskState


def test_child_state_maps_progress_into_its_slice_of_the_parent():
    seen = []
    root = TaskState(on_progress=seen.append)
    child = root.child(0.5, 1.0)
    child.set_progress(0.5)
    assert seen[-1] == pytest.approx(0.75)
    child.set_progress(2.0)  # clipped
    assert root.progress == pytest.approx(1.0)


def test_cancel_from_another_thread_reaches_a_child_check():
    root = TaskState()
    child = root.child(0.0, 0.5).child(0.0, 1.0)
    t = threading.Thread(target=root.cancel)
    t.start()
    t.join()
    with pytest.raises(Cancelled):
        child.check()


def test_events_and_status_reach_the_root_listeners():
    events, statuses = [], []
    root = TaskState(on_status=statuses.append, on_event=lambda k, p: events.append((k, p)))
    child = root.child(0.0, 1.0)
    child.set_status("imputing")
    child.emit("epoch", {"epoch": 3})
    assert statuses == ["imputing"]
    assert events == [("epoch", {"epoch": 3})]


def test_a_child_with_an_extra_cancel_stops_alone_while_the_root_goes_on():
    root = TaskState()
    skip = threading.Event()
    stage = root.child(0.0, 0.5, extra_cancel=skip)
    inner = stage.child(0.0, 1.0)
    assert not stage.cancelled
    skip.set()
    assert stage.cancelled and inner.cancelled
    with pytest.raises(Cancelled):
        inner.check()
    assert not root.cancelled
    root.child(0.5, 1.0).check()  # the next stage is not stopped
    skip.clear()
    assert not stage.cancelled
    root.cancel()
    assert stage.cancelled  # a cancel of the root still reaches it
