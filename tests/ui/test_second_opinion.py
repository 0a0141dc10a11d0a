"""The second-opinion workflow in the window: blind read, reveal, decision, audit, exports."""

from __future__ import annotations

from pathlib import Path

import pydicom
import pytest

from tests.ui.helpers import wait_idle
from tests.ui.pdf_text import page_count, pdf_text, squash
from wristviewer.ui.audit_dialog import AuditLogDialog
from wristviewer.workflow.audit import AuditDatabase, default_path
from wristviewer.workflow.blind_read import Agreement, Read, ReadState


def _open_and_analyse(qtbot, win, folder: Path) -> None:  # noqa: ANN001
    with qtbot.waitSignal(win.analysis_finished, timeout=120_000) as blocker:
        win.open_paths([folder])
    assert blocker.args == [True]
    wait_idle(qtbot, win)


def _ai_shown(win) -> list[str]:  # noqa: ANN001
    """Everything of the AI result visible on screen (empty when nothing is)."""
    shown = []
    rp = win.results_panel
    for label in (rp.verdict_label, rp.probability_label, rp.card_label):
        if label.isVisible() and label.text():
            shown.append(label.text())
    for panel in win.panels:
        if panel.badge_label.isVisible():
            shown.append(panel.badge_label.text())
        if panel.heatmap_item.image is not None:
            shown.append("heatmap")
    return shown


def test_after_read_nothing_of_the_ai_shows_before_the_read(
    qtbot, window, dicom_study: Path, installed_bundle: Path
) -> None:  # noqa: ANN001
    window.reveal_action.trigger()  # AI ▸ Reveal the AI only after my read
    assert window.settings.reveal_ai == "after_read"
    window.refresh_models()
    qtbot.waitUntil(lambda: bool(window.model_specs), timeout=60_000)
    _open_and_analyse(qtbot, window, dicom_study)

    study = window.state.current_study
    assert window.state.analyses.get(study.id) is not None  # the analysis ran in the background
    assert _ai_shown(window) == []
    assert window.results_panel.hidden_label.isVisible()
    rp = window.read_panel
    assert rp.hidden_label.isVisible() and not rp.agreement_label.isVisible()
    assert not rp.submit_button.isEnabled()
    for button in rp.decision_buttons.values():
        assert not button.isVisible()

    rp.read_buttons[Read.FRACTURE].click()
    rp.note_edit.setText("step in the radial cortex")
    with qtbot.waitSignal(window.second_opinion.audit_written, timeout=10_000):
        rp.submit_button.click()

    shown = _ai_shown(window)
    assert any(t.strip().endswith("%") for t in shown) and "heatmap" in shown
    assert "suspected" in window.results_panel.verdict_label.text()
    session = window.second_opinion.session()
    prediction = window.state.current_analysis().prediction
    expected = "agree" if prediction.suspected else "disagree"
    assert rp.agreement_label.isVisible()
    assert rp.agreement_label.text() == Agreement(expected).sentence
    assert session.agreement == expected

    with qtbot.waitSignal(window.second_opinion.audit_written, timeout=10_000):
        rp.decision_buttons[Read.NO_FRACTURE].click()
    assert session.state is ReadState.DECIDED
    assert "No fracture" in rp.decision_label.text()

    db = AuditDatabase(default_path())
    records = db.records()
    db.close()
    assert len(records) == 1  # one row per review, updated in place
    r = records[0]
    assert (r.physician_read, r.final_decision, r.reveal_mode) == (
        "fracture",
        "no_fracture",
        "after_read",
    )
    assert r.note == "step in the radial cortex" and r.agreement == expected
    assert r.study_probability == pytest.approx(prediction.fracture_probability)
    assert r.threshold == pytest.approx(prediction.threshold)
    assert len(r.view_probabilities) == 3 and r.n_views == 3
    assert r.key_method == "dicom-uid" and r.models and len(r.model_sha256[0]) == 64
    assert r.untrained is True

    dialog = AuditLogDialog(default_path(), window.workers, window)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.table.rowCount() == 1, timeout=10_000)
    assert dialog.table.item(0, 2).text() == "fracture"


def test_the_read_blinds_each_study_separately_and_switching_keeps_it(
    qtbot, window, tmp_path: Path
) -> None:  # noqa: ANN001
    from tests.ui.helpers import wrist_like, write_dicom

    window.second_opinion.set_mode("after_read")
    for i, uid in enumerate(("1.2.3.1", "1.2.3.2")):
        write_dicom(tmp_path / f"s{i}.dcm", wrist_like(120, 100, seed=i), study_uid=uid)
    with qtbot.waitSignal(window.studies_loaded, timeout=30_000):
        window.open_paths([tmp_path])
    wait_idle(qtbot, window)
    assert len(window.state.studies) == 2
    window.second_opinion.submit_read(Read.UNSURE)
    assert window.second_opinion.ai_visible()
    window.state.step_study(1)
    assert not window.second_opinion.ai_visible()
    assert window.read_panel.chosen_read() is None
    window.state.step_study(1)
    assert window.second_opinion.ai_visible()
    assert window.read_panel.read_buttons[Read.UNSURE].isChecked()


def test_an_unwritable_data_folder_leaves_a_sentence_and_a_working_viewer(
    qtbot, isolated_home: Path, dicom_study: Path
) -> None:  # noqa: ANN001
    (isolated_home / "data").write_text("a file where the data folder should be")
    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.settings import ViewerSettings

    win = MainWindow(ViewerSettings())
    win.quiet_errors = True
    qtbot.addWidget(win)
    with qtbot.waitSignal(win.studies_loaded, timeout=30_000):
        win.open_paths([dicom_study])
    wait_idle(qtbot, win)
    with qtbot.waitSignal(win.second_opinion.audit_failed, timeout=10_000):
        win.second_opinion.submit_read(Read.FRACTURE)
    assert "could not be written" in win.status_label.text()
    assert "keeps working" in win.read_panel.audit_label.text()
    win.state.step_study(0)
    win.fit_all()
    assert len(win.panels) == 3  # still viewing
    win.close()


def test_export_report_pdf_and_png(
    qtbot, window, dicom_study: Path, installed_bundle: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    window.refresh_models()
    qtbot.waitUntil(lambda: bool(window.model_specs), timeout=60_000)
    _open_and_analyse(qtbot, window, dicom_study)
    window.second_opinion.submit_read(Read.FRACTURE, "look at the scaphoid")
    window.second_opinion.decide(Read.FRACTURE)

    pdf = tmp_path / "report.pdf"
    with qtbot.waitSignal(window.report_exported, timeout=30_000):
        from wristviewer.ui.report import export_report

        export_report(window, pdf, include_identifiers=False)
    data = pdf.read_bytes()
    assert data.startswith(b"%PDF") and page_count(data) >= 2
    text = squash(pdf_text(pdf))
    prediction = window.state.current_analysis().prediction
    for expected in (
        "WristViewerreport",
        f"Studyfractureprobability{prediction.fracture_probability:.3f}",
        f"Modelthreshold{prediction.threshold:.3f}",
        "Physician'sreadfracture",
        "lookatthescaphoid",
        "Finaldecisionfracture",
        "UNTRAINEDMODEL",
        "Asecondopinion,notadiagnosis",
        "Date(UTC)",
        "StudyreferencestudyUID1.2.826.0.1.3680043.8.498.1",
    ):
        assert expected in text, expected
    assert "Test^Patient" not in text and "TEST-0001" not in text and "img0" not in text
    assert data.count(b"/Subtype /Image") >= 6  # 3 views and 3 overlays

    with_ids = tmp_path / "with-ids.pdf"
    with qtbot.waitSignal(window.report_exported, timeout=30_000):
        export_report(window, with_ids, include_identifiers=True)
    assert "TEST-0001" in squash(pdf_text(with_ids))

    png = tmp_path / "report.png"
    with qtbot.waitSignal(window.report_exported, timeout=30_000):
        export_report(window, png, include_identifiers=False)
    from PySide6.QtGui import QImage

    image = QImage(str(png))
    assert image.width() == 1240 and image.height() > 1000


def test_export_anonymised_study(qtbot, window, dicom_study: Path, tmp_path: Path) -> None:  # noqa: ANN001
    with qtbot.waitSignal(window.studies_loaded, timeout=30_000):
        window.open_paths([dicom_study])
    wait_idle(qtbot, window)
    out = tmp_path / "teaching-file"
    with qtbot.waitSignal(window.anonymised_exported, timeout=30_000):
        from wristviewer.ui.report import export_anonymised

        export_anonymised(window, out)
    files = sorted(out.glob("*.dcm"))
    assert [f.name for f in files] == ["image001.dcm", "image002.dcm", "image003.dcm"]
    datasets = [pydicom.dcmread(f) for f in files]
    assert all(ds.PatientName == "" and ds.PatientIdentityRemoved == "YES" for ds in datasets)
    assert len({ds.StudyInstanceUID for ds in datasets}) == 1
    assert datasets[0].StudyInstanceUID != window.state.current_study.views[0].study_uid
