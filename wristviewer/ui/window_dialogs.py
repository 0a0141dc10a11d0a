"""The main window's dialogs and exports: opening files and folders, DICOM tags, the files
not opened, shortcuts, about, the audit log, reports, anonymised exports, model installs and
teaching case sets. The window's ``dialogs``; kept apart so the window stays a layout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QFileDialog

from wristviewer.ai.registry import BUNDLE_SUFFIX
from wristviewer.ui import dialogs
from wristviewer.ui.audit_dialog import AuditLogDialog
from wristviewer.ui.jobs import tags_job

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.teaching import TeachingWindow
    from wristviewer.ui.workers import Worker

RADIOGRAPH_FILTER = "Radiographs (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff);;All files (*)"


class WindowDialogs:
    """Dialog and export handlers named in the action table (:mod:`wristviewer.ui.actions`)
    as ``dialogs.…``; they reach the window's state, settings and workers."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def open_files_dialog(self) -> None:
        w = self.window
        files, _ = QFileDialog.getOpenFileNames(
            w, "Open radiographs", w.settings.last_folder, RADIOGRAPH_FILTER
        )
        if files:
            w.open_paths(files)

    def open_folder_dialog(self) -> None:
        w = self.window
        folder = QFileDialog.getExistingDirectory(w, "Open folder", w.settings.last_folder)
        if folder:
            w.open_paths([folder])

    def open_folder_as_one_study_dialog(self) -> None:
        """File ▸ Open Folder as One Study…: the folder's PNG/JPEG images as one study (the
        user says they are one examination; the window says it was not checked)."""
        w = self.window
        folder = QFileDialog.getExistingDirectory(
            w, "Open folder as one study", w.settings.last_folder
        )
        if folder:
            w.open_paths([folder], one_study=True)

    def install_dialog(self) -> None:
        w = self.window
        path, _ = QFileDialog.getOpenFileName(
            w, "Install a model bundle", w.settings.last_folder, f"Model bundles (*{BUNDLE_SUFFIX})"
        )
        if path:
            w.install_bundle(path)

    def show_dicom_tags(self) -> None:
        w = self.window
        panel = w.active_panel
        if panel is None:
            return
        radiograph = panel.radiograph
        w.workers.submit(
            tags_job,
            Path(radiograph.path),
            _connect={
                "returned": lambda tags: dialogs.DicomTagsDialog(radiograph, tags, w).open(),
                "errored": lambda exc: w.report_error("Could not read the DICOM tags", exc),
            },
        )

    def show_skipped(self) -> None:
        w = self.window
        if w.state.skipped:
            dialogs.SkippedFilesDialog(w.state.skipped, w).open()

    def show_shortcuts(self) -> None:
        actions: list[QAction] = list(self.window.actions_by_id.values())
        dialogs.ShortcutsDialog(actions, self.window).open()

    def show_about(self) -> None:
        dialogs.show_about(self.window)

    def show_audit_log(self) -> None:
        w = self.window
        AuditLogDialog(w.second_opinion.writer.path, w.workers, w).open()

    def export_report(self) -> Worker | None:
        """File ▸ Export report… (PDF or PNG; identifiers only when asked for)."""
        from wristviewer.ui.report import export_report

        return export_report(self.window)

    def export_anonymised(self) -> Worker | None:
        """File ▸ Export anonymised study… (DICOM de-identified, PS3.15 E.1-1)."""
        from wristviewer.ui.report import export_anonymised

        return export_anonymised(self.window)

    # teaching -----------------------------------------------------------------------------
    def open_case_set_dialog(self) -> None:
        folder = QFileDialog.getExistingDirectory(
            self.window,
            "Open a teaching case set (folder with cases.csv)",
            self.window.settings.last_folder,
        )
        if folder:
            self.open_case_set(folder)

    def open_sample_case_set(self) -> TeachingWindow | None:
        from wristviewer.paths import resources_dir

        return self.open_case_set(resources_dir() / "teaching" / "fracatlas-sample")

    def open_case_set(self, folder: str | Path) -> TeachingWindow | None:
        """Open the quiz window on a case set; returns it (None when the set is unreadable)."""
        from wristviewer.ui.teaching import TeachingWindow
        from wristviewer.workflow.teaching import CaseSetError, load_case_set

        w = self.window
        try:
            case_set = load_case_set(folder)
        except CaseSetError as exc:
            w.report_error("The case set could not be opened", exc)
            return None
        w.teaching_window = TeachingWindow(
            case_set, model_spec=w.results_panel.chosen_model(), device=w.settings.device
        )
        w.teaching_window.show()
        return w.teaching_window
