"""The report content: facts, identifiers only on request, images and overlays."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from tests.helpers.dicom_factory import phantom, write_dicom, write_png
from wristviewer.ai.card import ModelCard, OperatingPoint
from wristviewer.ai.recipe import Recipe
from wristviewer.imaging import Study, load_studies, read
from wristviewer.workflow.blind_read import Read, ReadSession, RevealMode
from wristviewer.workflow.report import DISCLAIMER, build_report


class _VP:
    def __init__(self, path: Path, p: float, heatmap: np.ndarray) -> None:
        self.path, self.fracture_probability, self.heatmap = path, p, heatmap


class _Prediction:
    def __init__(self, views: list[_VP]) -> None:
        self.views = views
        self.fracture_probability = max(v.fracture_probability for v in views)
        self.threshold = 0.5
        self.suspected = self.fracture_probability >= self.threshold
        self.untrained = True
        self.models = ["m"]


def _card() -> ModelCard:
    return ModelCard(
        name="dn",
        arch="densenet161",
        version="1",
        recipe=Recipe(),
        operating_points=[OperatingPoint("youden", 0.5)],
        weights_sha256="ef" * 32,
        untrained=True,
    )


def _study(tmp_path: Path) -> Study:
    path = write_dicom(
        tmp_path / "Doe_pa.dcm",
        phantom(),
        view_position="PA",
        extra={
            "PatientName": "Doe^Jane",
            "PatientID": "MRN-778899",
            "StudyDate": "20240615",
            "StudyTime": "031500",
            "AccessionNumber": "ACC-4242",
        },
    )
    r = read(path)
    return Study(id="s", views=[r])


def test_report_without_identifiers_names_no_patient(tmp_path: Path) -> None:
    study = _study(tmp_path)
    r = study.views[0]
    heat = np.zeros_like(r.pixels)
    heat[5:20, 5:20] = 0.9
    session = ReadSession("s", mode=RevealMode.AFTER_READ)
    session.submit_read(Read.FRACTURE, "distal radius")
    session.decide(Read.FRACTURE)
    content = build_report(study, _Prediction([_VP(r.path, 0.8, heat)]), [_card()], session)
    text = content.to_text()
    for expected in (
        "fracture suspected",
        "0.800",
        "Model threshold: 0.500",
        "distal radius",
        "Final decision: fracture",
        "UNTRAINED",
        DISCLAIMER,
        "weights efefefefefef",
    ):
        assert expected in text
    assert "Doe" not in text and "MRN-778899" not in text and "Doe_pa" not in content.to_html()
    view = content.views[0]
    assert view.image.shape == (*r.pixels.shape, 3) and view.image.dtype == np.uint8
    assert view.overlay is not None and not np.array_equal(view.overlay, view.image)


def test_identifiers_only_when_asked(tmp_path: Path) -> None:
    study = _study(tmp_path)
    content = build_report(study, None, include_identifiers=True)
    assert content.identifiers["PatientID"] == "MRN-778899"
    assert "Doe^Jane" in content.to_text() and "AI result: none" in content.to_text()
    assert content.views[0].overlay is None


def test_the_model_line_carries_the_test_auroc_with_its_interval() -> None:
    from types import SimpleNamespace

    from wristviewer.workflow.report import card_line

    card = SimpleNamespace(
        name="densenet161-fracatlas",
        arch="densenet161",
        version="1.0.0",
        weights_sha256="ab" * 32,
        untrained=False,
        metrics={"auroc": {"value": 0.8123, "ci95": [0.734, 0.871], "set": "test"}},
    )
    line = card_line(card)
    assert "test AUROC 0.81 (95% CI 0.73–0.87)" in line and "abababababab" in line
    card.metrics = {}
    assert "AUROC" not in card_line(card)


def test_the_report_carries_the_study_reference_always(tmp_path: Path) -> None:
    study = _study(tmp_path)
    for include in (False, True):
        content = build_report(study, None, include_identifiers=include)
        assert content.reference == "study 2024-06-15 03:15, accession ACC-4242"
        assert "Study reference: study 2024-06-15 03:15, accession ACC-4242" in content.to_text()
        assert "accession ACC-4242" in content.to_html()


def test_plain_images_are_named_in_the_report_only_with_identifiers(tmp_path: Path) -> None:
    path = write_png(tmp_path / "Doe_Jane_wrist.png")
    (study,), _ = load_studies([path])
    without = build_report(study, None).to_text()
    assert "Study reference: 1 image(s), no patient data in file" in without
    assert "Doe_Jane" not in without
    with_ids = build_report(study, None, include_identifiers=True).to_text()
    assert "Study reference: Doe_Jane_wrist.png (no patient data in file)" in with_ids
