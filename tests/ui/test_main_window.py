"""The window with real files: FracAtlas and DICOM studies, CLAHE, skipped files, settings."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from tests.helpers.dicom_factory import write_bad_deflate, write_rle_overrun
from tests.ui.helpers import open_and_wait as _open
from tests.ui.helpers import wait_idle, wrist_like, write_dicom
from wristviewer.imaging import ClaheSettings, View, apply_clahe
from wristviewer.ui.dialogs import DicomTagsDialog, ShortcutsDialog, SkippedFilesDialog


def test_open_a_fracatlas_study_side_by_side_with_clahe(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study], one_study=True)
    assert len(window.state.studies) == 1 and len(window.panels) == 3
    for panel in window.panels:
        r = panel.radiograph
        image = panel.image_item.image
        assert image.shape == (r.rows, r.cols)
        assert (panel.image_item.width(), panel.image_item.height()) == (r.cols, r.rows)
        # CLAHE is on by default: what is shown is the one CLAHE function's output
        np.testing.assert_allclose(
            image, apply_clahe(r.pixels, window.state.clahe, r.bits_stored), atol=1e-6
        )
    assert "px" in window.info_label.text() and "8-bit" in window.info_label.text()
    assert not window.skipped_button.isVisible()


def test_the_clahe_slider_changes_the_displayed_pixels(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study])
    panel = window.panels[0]
    before = panel.image_item.image.copy()
    with qtbot.waitSignal(window.enhanced_ready, timeout=30_000):
        window.clahe_panel.clip_slider.setValue(60)  # clip limit 6.0
    wait_idle(qtbot, window)
    after = panel.image_item.image
    assert window.state.clahe.clip_limit == pytest.approx(6.0)
    assert not np.array_equal(before, after)
    r = panel.radiograph
    np.testing.assert_allclose(
        after, apply_clahe(r.pixels, window.state.clahe, r.bits_stored), atol=1e-6
    )
    # off: the raw pixels; every view changes at once
    window.clahe_action.trigger()
    wait_idle(qtbot, window)
    for p in window.panels:
        np.testing.assert_array_equal(p.image_item.image, p.radiograph.pixels)


def test_a_burst_of_clahe_changes_ends_on_the_last_one(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study], one_study=True)
    for value in range(10, 40, 3):
        window.clahe_panel.clip_slider.setValue(value)
    window.clahe_panel.grid_spin.setValue(4)
    wait_idle(qtbot, window)
    final = ClaheSettings(enabled=True, clip_limit=3.7, tile_grid=(4, 4))
    assert window.state.clahe == final
    r = window.panels[1].radiograph
    np.testing.assert_allclose(
        window.panels[1].image_item.image, apply_clahe(r.pixels, final, r.bits_stored), atol=1e-6
    )


def test_open_a_dicom_study_with_tags_and_view_correction(qtbot, window, dicom_study: Path) -> None:  # noqa: ANN001
    _open(qtbot, window, [dicom_study])
    assert len(window.panels) == 3
    views = [p.radiograph.view for p in window.panels]
    assert views[0] is View.PA and View.LATERAL in views
    first = window.panels[0].radiograph
    assert first.bits_stored == 12 and first.format == "DICOM"
    # correct the unknown view: it moves to its place in the hanging order
    unknown = next(p for p in window.panels if p.radiograph.view is View.UNKNOWN)
    combo = unknown._view_combo
    combo.setCurrentIndex(combo.findData(View.OBLIQUE.value))
    assert [p.radiograph.view for p in window.panels] == [View.PA, View.OBLIQUE, View.LATERAL]
    from wristviewer.imaging import read_dicom_tags

    tags = read_dicom_tags(first.path)
    dialog = DicomTagsDialog(first, tags, window)
    qtbot.addWidget(dialog)
    assert dialog.visible_rows() == len(tags) > 10
    dialog.filter_edit.setText("ViewPosition")
    assert dialog.visible_rows() >= 1 and dialog.visible_rows() < len(tags)


def test_several_studies_get_a_selector(qtbot, window, tmp_path: Path, dicom_study: Path) -> None:  # noqa: ANN001
    other = tmp_path / "second"
    other.mkdir()
    for i, view in enumerate(("PA", "LL")):
        write_dicom(
            other / f"b{i}.dcm",
            wrist_like(120, 100, seed=10 + i),
            view=view,
            study_uid="1.2.3.4.5.6",
            series_number=i + 1,
        )
    _open(qtbot, window, [dicom_study, other])
    assert window.study_combo.count() == 2
    counts = {len(s.views) for s in window.state.studies}
    assert counts == {2, 3}
    first = len(window.panels)
    window.study_combo.setCurrentIndex(1)
    wait_idle(qtbot, window)
    assert len(window.panels) == ({2, 3} - {first}).pop()


def test_a_corrupt_file_is_reported_while_the_rest_opens(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    (fracatlas_study / "broken.dcm").write_bytes(b"\0" * 128 + b"DICM" + b"\x02\x00\x10\x00garbage")
    truncated = fracatlas_study / "truncated.jpg"
    truncated.write_bytes((fracatlas_study / "IMG0000016.jpg").read_bytes()[:300])
    _open(qtbot, window, [fracatlas_study], one_study=True)
    assert len(window.panels) == 3
    assert window.skipped_button.isVisible()
    assert "2 files not opened" in window.skipped_button.text()
    dialog = SkippedFilesDialog(window.state.skipped, window)
    qtbot.addWidget(dialog)
    paths = {dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())}
    assert {str(fracatlas_study / "broken.dcm"), str(truncated)} <= paths
    assert all(dialog.table.item(r, 1).text() for r in range(dialog.table.rowCount()))


def test_a_decoder_panic_and_a_named_pipe_are_skips_while_the_rest_opens(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    """The window's loading path (imaging.iter_load_studies in a worker) goes on past a native
    decoder panic (a BaseException), a Deflate stream that does not inflate and a FIFO."""
    write_rle_overrun(fracatlas_study / "panic.dcm")
    write_bad_deflate(fracatlas_study / "deflate.dcm")
    os.mkfifo(fracatlas_study / "pipe")
    _open(qtbot, window, [fracatlas_study], one_study=True)
    assert len(window.panels) == 3
    skipped = {s.path.name: s.reason for s in window.state.skipped}
    assert set(skipped) == {"panic.dcm", "deflate.dcm", "pipe"}
    assert all(skipped.values()) and "named pipe" in skipped["pipe"]
    assert "3 files not opened" in window.skipped_button.text()


def test_settings_survive_a_restart(qtbot, window, fracatlas_study: Path) -> None:  # noqa: ANN001
    from wristviewer.ui.main_window import MainWindow

    _open(qtbot, window, [fracatlas_study])
    window.clahe_panel.grid_spin.setValue(6)
    window.clahe_panel.clip_slider.setValue(35)
    window.results_panel.opacity_slider.setValue(30)
    window.state.set_heatmap(visible=False)
    window.results_panel.auto_run_box.setEnabled(True)
    window.results_panel.auto_run_box.setChecked(False)
    window.state.set_studies([], [])  # no panels: the window may shrink within the offscreen screen
    window.resize(760, 560)
    wait_idle(qtbot, window)
    window.close()

    again = MainWindow()
    qtbot.addWidget(again)
    assert again.state.clahe == ClaheSettings(enabled=True, clip_limit=3.5, tile_grid=(6, 6))
    assert again.clahe_panel.grid_spin.value() == 6
    assert again.state.heatmap_opacity == pytest.approx(0.3) and not again.state.heatmap_visible
    assert again.settings.auto_run is False and not again.results_panel.auto_run_box.isChecked()
    assert again.settings.recent[0] == str(fracatlas_study)
    assert again.settings.last_folder == str(fracatlas_study)
    # the width is clamped to the small offscreen screen; the height shows the geometry came back
    assert again.settings.geometry and again.height() == 560


def test_shortcuts_dialog_lists_the_real_actions(qtbot, window) -> None:  # noqa: ANN001
    dialog = ShortcutsDialog(window.actions_with_shortcuts, window)
    qtbot.addWidget(dialog)
    names = dict(dialog.rows)
    for action, key in (
        ("Open files", "O"),
        ("Fit to window", "F"),
        ("Invert", "I"),
        ("Heatmap overlay on/off", "H"),
        ("CLAHE on/off", "C"),
        ("Window: Bone", "2"),
    ):
        assert key in names[action].split(", ")
    assert len(dialog.rows) == len(window.actions_with_shortcuts) >= 15


def test_per_view_actions_and_presets(qtbot, window, fracatlas_study: Path) -> None:  # noqa: ANN001
    _open(qtbot, window, [fracatlas_study], one_study=True)
    second = window.panels[1]
    second.activated.emit()
    shape = second.image_item.image.shape
    window._on_active(lambda p: p.display.rotate(1))
    assert second.image_item.image.shape == shape[::-1]
    assert window.panels[0].image_item.image.shape == (
        window.panels[0].radiograph.rows,
        window.panels[0].radiograph.cols,
    )
    window.apply_preset("Bone")
    assert all(tuple(p.image_item.levels) == pytest.approx((0.3, 0.9)) for p in window.panels)


def test_the_log_names_no_patient(qtbot, window, dicom_study: Path, isolated_home: Path) -> None:  # noqa: ANN001
    from wristviewer.ui.settings import close_logging, setup_logging

    log_file = setup_logging()
    try:
        _open(qtbot, window, [dicom_study])
    finally:
        close_logging()
    assert log_file.parent == isolated_home / "log"
    text = log_file.read_text(encoding="utf-8")
    assert "study" in text
    assert "Test^Patient" not in text and "TEST-0001" not in text and "img0.dcm" not in text


def test_documents_in_a_folder_are_mentioned_without_alarm(
    qtbot, window, fracatlas_study: Path
) -> None:  # noqa: ANN001
    (fracatlas_study / "README.md").write_text("notes", encoding="utf-8")
    _open(qtbot, window, [fracatlas_study], one_study=True)
    assert len(window.panels) == 3
    assert window.skipped_button.isVisible()
    assert window.skipped_button.text().startswith("1 non-image file passed over")
    assert "⚠" not in window.skipped_button.text()
