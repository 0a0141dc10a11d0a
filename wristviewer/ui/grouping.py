"""The window's grouping actions: "Treat Open Images as One Study" and "Split into Single
Images" (View menu, :mod:`wristviewer.ui.actions` as ``grouping.…``).

PNG/JPEG files name no patient, so each opens as a study of its own
(:mod:`wristviewer.imaging.studies`); joining them is the user's say-so, and the joined
study's grouping sentence (shown above the views and in the status bar) says it was not
checked to be one patient. DICOM studies are never joined by this action.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from wristviewer.imaging import Study
from wristviewer.imaging.studies import merge_studies, split_study

if TYPE_CHECKING:
    from wristviewer.viewer import ViewerState


def is_plain(study: Study) -> bool:
    """Whether every image of ``study`` is a plain image (PNG, JPEG, TIFF: no patient data)."""
    return bool(study.views) and all(r.format != "DICOM" for r in study.views)


def joined_name(studies: list[Study]) -> str:
    """The folder's name when the images share one, else "N images"."""
    folders = {r.path.parent for s in studies for r in s.views}
    if len(folders) == 1:
        folder = folders.pop()
        return folder.name or str(folder)
    return f"{sum(len(s.views) for s in studies)} images"


class GroupingController:
    """Joins and splits the open studies of ``state``; says what it did in the status line."""

    def __init__(self, state: ViewerState) -> None:
        self._state = state

    def treat_as_one_study(self) -> Study | None:
        """Join the open plain-image studies into one (None when there are fewer than two)."""
        state = self._state
        plain = [s for s in state.studies if is_plain(s)]
        if len(plain) < 2:
            state.status.show("Nothing to join: fewer than two open studies of PNG/JPEG images.")
            return None
        merged = merge_studies(plain, joined_name(plain))
        state.regroup(plain, [merged])
        state.status.show(f"{len(merged.views)} images as one study — {merged.grouping}.")
        return merged

    def split_current(self) -> list[Study]:
        """Split the current study into one study per image (empty when there is nothing to
        split)."""
        state = self._state
        study = state.current_study
        if study is None or len(study.views) < 2:
            state.status.show("Nothing to split: the study has one image.")
            return []
        parts = split_study(study)
        state.regroup([study], parts)
        state.status.show(f"Split into {len(parts)} studies of one image each.")
        return parts
