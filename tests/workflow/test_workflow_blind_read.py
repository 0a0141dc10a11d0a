"""The blind-read state machine, the agreement rule and the audit record it produces."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

from wristviewer.imaging import View
from wristviewer.workflow.blind_read import (
    Agreement,
    Read,
    ReadSession,
    ReadState,
    ReadStateError,
    RevealMode,
    agreement,
)


@dataclass
class FakeView:
    path: Path
    view: View
    fracture_probability: float


@dataclass
class FakePrediction:
    fracture_probability: float
    threshold: float
    views: list = field(default_factory=list)
    untrained: bool = False

    @property
    def suspected(self) -> bool:
        return self.fracture_probability >= self.threshold


@dataclass
class FakeCard:
    name: str
    weights_sha256: str


@pytest.mark.parametrize(
    ("read", "suspected", "expected"),
    [
        (Read.FRACTURE, True, Agreement.AGREE),
        (Read.NO_FRACTURE, False, Agreement.AGREE),
        (Read.FRACTURE, False, Agreement.DISAGREE),
        (Read.NO_FRACTURE, True, Agreement.DISAGREE),
        (Read.UNSURE, True, Agreement.UNSURE),
        (Read.FRACTURE, None, Agreement.NO_AI),
    ],
)
def test_agreement(read: Read, suspected: bool | None, expected: Agreement) -> None:
    assert agreement(read, suspected) is expected


def test_after_read_hides_the_ai_until_the_read_then_decides() -> None:
    s = ReadSession("study", mode=RevealMode.AFTER_READ)
    s.set_analysis(FakePrediction(0.8, 0.5), [FakeCard("m", "ab" * 32)])
    assert not s.ai_visible and s.state is ReadState.AWAITING_READ
    with pytest.raises(ReadStateError):
        s.decide(Read.FRACTURE)
    s.submit_read("no_fracture", "  subtle cortex?  ")
    assert s.ai_visible and s.note == "subtle cortex?"
    assert s.agreement is Agreement.DISAGREE
    with pytest.raises(ReadStateError):
        s.submit_read(Read.FRACTURE)
    s.decide(Read.FRACTURE)
    assert s.state is ReadState.DECIDED and s.final_decision is Read.FRACTURE


def test_immediate_mode_shows_the_ai_at_once() -> None:
    assert ReadSession("s", mode=RevealMode.IMMEDIATE).ai_visible


def test_audit_record_carries_probabilities_read_and_decision() -> None:
    s = ReadSession("study", mode=RevealMode.AFTER_READ)
    views = [
        FakeView(Path("/x/a.dcm"), View.PA, 0.7),
        FakeView(Path("/x/b.dcm"), View.LATERAL, 0.1),
    ]
    s.set_analysis(FakePrediction(0.7, 0.4, views), [FakeCard("densenet", "cd" * 32)])
    s.submit_read(Read.FRACTURE)
    s.decide(Read.FRACTURE)
    r = s.audit_record("0.1.0", n_views=2)
    assert r.review_id == s.review_id and r.study_key == ""
    assert r.models == ["densenet"] and r.model_sha256 == ["cd" * 32]
    assert r.threshold == 0.4 and r.study_probability == 0.7 and r.ai_suspected is True
    assert r.view_probabilities == [
        {"view": "PA", "probability": 0.7},
        {"view": "lateral", "probability": 0.1},
    ]
    assert (r.physician_read, r.agreement, r.final_decision) == ("fracture", "agree", "fracture")
    assert r.reveal_mode == "after_read"
    assert "/x/" not in repr(r)  # paths never reach the record
