"""A batch's timeline on the public page: runs of routine events of one type become one line; anything flagged,
corrected or of another kind stays its own line and breaks a run."""

from __future__ import annotations

from trace.public import PublicBatch, Step, StepRun


def step(index: int, type_: str, *, warning: str | None = None, corrected_by: int | None = None,
         actor: str = "shop") -> Step:
    return Step(entry_index=index, type=type_, actor=actor, time=f"2026-11-20T10:{index:02d}:00+08:00", place=None,
                detail={}, corrected_by=corrected_by, warning=warning)


def batch(steps: list[Step]) -> PublicBatch:
    return PublicBatch(ref="lot", kind="lot", gtin=None, lot=None, sscc=None, product=None, produced_on=None,
                       expires_on=None, origin={}, certificates=[], maker="farm", status="active", inspection=None,
                       recalls=[], steps=steps, event_count=len(steps) + 7)


def shape(entries: list[Step | StepRun]) -> list[tuple[str, list[int]]]:
    return [(entry.type, [item.entry_index for item in entry.steps]) if isinstance(entry, StepRun)
            else (entry.type, [entry.entry_index]) for entry in entries]


def test_runs_of_routine_events_are_one_line_each() -> None:
    steps = [step(1, "trace.receive"), step(2, "trace.sell"), step(3, "trace.sell", actor="other shop"),
             step(4, "trace.sell"), step(5, "trace.sensor"), step(6, "trace.sensor"),
             step(7, "trace.sensor", warning="excursion"), step(8, "trace.sensor"), step(9, "trace.sell"),
             step(10, "trace.sell", corrected_by=11), step(11, "trace.correct"), step(12, "trace.sell"),
             step(13, "trace.sell")]
    timeline = batch(steps).timeline
    assert shape(timeline) == [
        ("trace.receive", [1]), ("trace.sell", [2, 3, 4]), ("trace.sensor", [5, 6]), ("trace.sensor", [7]),
        ("trace.sensor", [8]), ("trace.sell", [9]), ("trace.sell", [10]), ("trace.correct", [11]),
        ("trace.sell", [12, 13])]
    run = timeline[1]
    assert isinstance(run, StepRun) and isinstance(timeline[5], Step)
    assert (run.count, run.first.entry_index, run.last.entry_index) == (3, 2, 4)
    assert run.actors == ["other shop", "shop"]
    assert batch(steps).earlier == 7
    assert batch([]).timeline == []
