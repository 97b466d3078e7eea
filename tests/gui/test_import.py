"""The import preview: what the reader detected, corrected columns, the read with progress."""

from __future__ import annotations

import pandas as pd

from core.io import write_wide_csv


def _open_preview(window, qtbot, path):
    window.start_import(path)
    dialog = window.import_dialog
    qtbot.waitUntil(lambda: dialog.preview is not None, timeout=20_000)
    return dialog


def test_preview_shows_what_the_reader_found(window, qtbot, tmp_path, demo_small, wait_idle):
    path = tmp_path / "sgcc_like.csv"
    write_wide_csv(demo_small, path)
    dialog = _open_preview(window, qtbot, path)
    assert dialog.fields["days"].text().startswith("1,035")
    assert "2014-01-01" in dialog.fields["days"].text()
    assert dialog.fields["customers"].text() == "120"
    assert dialog.fields["delimiter"].text().startswith("comma")
    assert dialog.id_combo.currentText() == "CONS_NO"
    assert dialog.label_combo.currentText() == "FLAG"
    assert dialog.import_button.isEnabled()

    dialog.commit()
    wait_idle(window)
    data = window.workspace.data
    assert data.n_customers == 120 and data.theft_count == demo_small.theft_count
    assert window.pages["data"].cards["customers"].value == "120"
    assert window.workspace.data_name == "sgcc_like.csv"


def test_user_can_choose_another_id_column(window, qtbot, tmp_path, wait_idle):
    days = pd.date_range("2015-01-01", periods=30, freq="D")
    frame = pd.DataFrame(
        {
            "meter": [f"m{i}" for i in range(8)],
            "account": [f"acc{i:03d}" for i in range(8)],
            "FLAG": [0, 1] * 4,
        }
    )
    for j, d in enumerate(days):
        frame[d.strftime("%Y-%m-%d")] = [float(i + j) for i in range(8)]
    path = tmp_path / "two_ids.csv"
    frame.to_csv(path, index=False)
    dialog = _open_preview(window, qtbot, path)
    assert dialog.id_combo.findText("account") >= 0
    dialog.id_combo.setCurrentIndex(dialog.id_combo.findText("account"))
    assert dialog.options()["id_column"] == "account"
    dialog.commit()
    wait_idle(window)
    assert list(window.workspace.data.customer_ids[:2]) == ["acc000", "acc001"]


def test_a_file_that_is_not_data_shows_why(window, qtbot, tmp_path, wait_idle):
    path = tmp_path / "notes.csv"
    path.write_text("hello\nthis is not a table\n")
    dialog = _open_preview(window, qtbot, path)
    warnings = [dialog.warnings.item(i).text() for i in range(dialog.warnings.count())]
    assert any("hello" in w for w in warnings)  # the preview says what it could not find
    dialog.commit()
    wait_idle(window)
    assert window.workspace.data is None
    box = window.error_boxes[-1]
    assert "notes.csv" in box.text() and "Internal error" not in box.text()


def test_real_sgcc_slice_previews_and_imports(window, qtbot, sgcc_191, wait_idle):
    dialog = _open_preview(window, qtbot, sgcc_191)
    assert dialog.fields["customers"].text() == "191"
    dialog.commit()
    wait_idle(window)
    assert window.workspace.data.n_customers == 191


def test_choosing_no_label_column_leaves_customers_unlabelled(
    window, qtbot, tmp_path, demo_small, wait_idle
):
    path = tmp_path / "labelled.csv"
    write_wide_csv(demo_small, path)
    dialog = _open_preview(window, qtbot, path)
    dialog.label_combo.setCurrentIndex(dialog.label_combo.findText("(no label column)"))
    dialog.commit()
    wait_idle(window)
    data = window.workspace.data
    assert data.unlabelled_count == 120
    assert window.pages["data"].cards["unknown"].value == "120"


def test_a_table_without_day_columns_cannot_be_imported_and_says_why(window, qtbot, tmp_path):
    path = tmp_path / "no_dates.csv"
    path.write_text("id,a,b\nx,1,2\ny,3,4\n")
    dialog = _open_preview(window, qtbot, path)
    assert not dialog.import_button.isEnabled()
    assert "nothing to import" in dialog.status.text()
    notes = [dialog.warnings.item(i).text() for i in range(dialog.warnings.count())]
    assert any("no date columns" in n for n in notes)


def test_a_clean_preview_says_nothing_unusual_rather_than_none(window, qtbot, tmp_path, demo_small):
    path = tmp_path / "plain.csv"
    write_wide_csv(demo_small.subset(list(range(10))), path)
    dialog = _open_preview(window, qtbot, path)
    notes = [dialog.warnings.item(i).text() for i in range(dialog.warnings.count())]
    assert "None." not in notes


def test_a_long_file_s_customer_count_is_shown_as_an_estimate(window, qtbot, tmp_path):
    from core.demo import make_demo

    path = tmp_path / "many.csv"
    write_wide_csv(make_demo(n_customers=450, n_days=30, seed=4), path)
    dialog = _open_preview(window, qtbot, path)
    assert dialog.fields["customers"].text().startswith("about ")
    assert "exact after Import" in dialog.fields["customers"].text()
