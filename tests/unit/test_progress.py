"""Progress lines for long steps: silent for short work, then every 10 % or 30 s."""

from __future__ import annotations

from sparse_pkg.progress import Progress


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def _run(total: int, seconds_per_item: float) -> list[str]:
    clock, lines = FakeClock(), []
    progress = Progress(total, "work", unit="clips", log=lines.append, clock=clock)
    for _ in range(total):
        clock.now += seconds_per_item
        progress.update()
    return lines


def test_short_work_logs_nothing():
    assert _run(1000, 0.01) == []  # 10 s in all


def test_long_work_logs_every_tenth_and_a_last_line():
    lines = _run(100, 2.0)  # 200 s: silent for 30 s, then a line per tenth (every 20 s)
    assert lines[0] == "work: 15/100 clips (15 %), 30 s so far, about 170 s left"
    assert [line.split("(")[1].split(")")[0] for line in lines[1:]] == \
        [f"{p} %" for p in range(20, 101, 10)]
    assert lines[-1] == "work: 100/100 clips (100 %), done in 200 s"


def test_slow_work_logs_at_least_every_30_seconds():
    lines = _run(10, 100.0)  # each tenth takes 100 s: one line per item, never a gap > 100 s
    assert len(lines) == 10
    lines = _run(10_000, 0.3)  # 3000 s; 10 % = 300 s, but a line every 30 s
    assert 95 <= len(lines) <= 101, len(lines)
    assert lines[-1].endswith("done in 3000 s")


def test_updates_after_the_end_add_nothing():
    clock, lines = FakeClock(), []
    progress = Progress(2, "work", log=lines.append, clock=clock)
    clock.now = 100.0
    progress.update(2)
    progress.update(5)
    assert lines == ["work: 2/2 items (100 %), done in 100 s"]
