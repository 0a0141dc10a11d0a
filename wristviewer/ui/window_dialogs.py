"""The main window's dialogs and exports: opening files and folders, DICOM tags, the files
not opened, shortcuts, about, the audit log, reports, anonymised exports, model installs and
teaching case sets. A mixin of :class:`~wristviewer.ui.main_window.MainWindow` (it reaches
the window's state, settings and workers), kept apart so the window stays a layout."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

from wristviewer.ui import dialogs
from wristviewer.ui.audit_dialog import AuditLogDialog
from wristviewer.ui.jobs import tags_job

if TYPE_CHECKING:
    from PySide6.QtGui import QAction

    from wristviewer.ui.main_window import MainWindow
    from wristviewer.ui.workers import Worker

RADIOGRAPH_FILTER = "Radiographs (*.dcm *.dicom *.png *.jpg *.jpeg *.tif *.tiff);;All files (*)"


class WindowDialogs:
    """Dialog and export handlers named in the action table (:mod:`wristviewer.ui.actions`)."""

    def open_files_dialog(self: MainWindow) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, "Open radiographs", self.settings.last_folder, RADIOGRAPH_FILTER
        )
        if files:
            self.open_paths(files)

    def open_folder_dialog(self: MainWindow) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Open folder", self.settings.last_folder)
        if folder:
            self.open_paths([folder])

    def install_dialog(self: MainWindow) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self,
            "Install a model bundle",
            self.settings.last_folder,
            "Model bundles (*.safetensors)",
        )
        if path:
            self.install_bundle(path)

    def show_dicom_tags(self: MainWindow) -> None:
        panel = self.active_panel
        if panel is None:
            return
        radiograph = panel.radiograph
        self.workers.submit(
            tags_job,
            Path(radiograph.path),
            _connect={
                "returned": lambda tags: dialogs.DicomTagsDialog(radiograph, tags, self).open(),
                "errored": lambda exc: self.report_error("Could not read the DICOM tags", exc),
            },
        )

    def show_skipped(self: MainWindow) -> None:
        if self.state.skipped:
            dialogs.SkippedFilesDialog(self.state.skipped, self).open()

    def show_shortcuts(self: MainWindow) -> None:
        actions: list[QAction] = list(self.actions_by_id.values())
        dialogs.ShortcutsDialog(actions, self).open()

    def show_about(self: MainWindow) -> None:
        dialogs.show_about(self)

    def show_audit_log(self: MainWindow) -> None:
        AuditLogDialog(self.second_opinion.writer.path, self.workers, self).open()

    def export_report(self: MainWindow) -> Worker | None:
        """File ▸ Export report… (PDF or PNG; identifiers only when asked for)."""
        from wristviewer.ui.report import export_report

        return export_report(self)

    def export_anonymised(self: MainWindow) -> Worker | None:
        """File ▸ Export anonymised study… (DICOM de-identified, PS3.15 E.1-1)."""
        from wristviewer.ui.report import export_anonymised

        return export_anonymised(self)

    # teaching -----------------------------------------------------------------------------
    def open_case_set_dialog(self: MainWindow) -> None:
        folder = QFileDialog.getExistingDirectory(
            self, "Open a teaching case set (folder with cases.csv)", self.settings.last_folder
        )
        if folder:
            self.open_case_set(folder)

    def open_sample_case_set(self: MainWindow) -> Any:
        from wristviewer.paths import resources_dir

        return self.open_case_set(resources_dir() / "teaching" / "fracatlas-sample")

    def open_case_set(self: MainWindow, folder: str | Path) -> Any:
        """Open the quiz window on a case set; returns it (None when the set is unreadable)."""
        from wristviewer.ui.teaching import TeachingWindow
        from wristviewer.workflow.teaching import CaseSetError, load_case_set

        try:
            case_set = load_case_set(folder)
        except CaseSetError as exc:
            self.report_error("The case set could not be opened", exc)
            return None
        self.teaching_window = TeachingWindow(
            case_set, model_spec=self.results_panel.chosen_model(), device=self.settings.device
        )
        self.teaching_window.show()
        return self.teaching_window
