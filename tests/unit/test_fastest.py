"""layers.fastest: the faster of exact paths, measured once per key on this machine."""

from __future__ import annotations

import time

import pytest

from sparse_pkg.layers import fastest as fastest_module
from sparse_pkg.layers.fastest import chosen, fastest, forget


@pytest.fixture(autouse=True)
def no_choices(monkeypatch):
    monkeypatch.setattr(fastest_module, "_CHOICES", {})


def test_the_faster_candidate_wins_and_is_kept_for_its_key():
    calls = {"slow": 0, "quick": 0}

    def slow():
        calls["slow"] += 1
        time.sleep(0.004)

    def quick():
        calls["quick"] += 1

    assert fastest("a", {"slow": slow, "quick": quick}) == "quick"
    measured = dict(calls)
    assert measured["slow"] == measured["quick"] >= 1 + fastest_module.MIN_ROUNDS
    assert fastest("a", {"slow": slow, "quick": quick}) == "quick"  # not measured again
    assert calls == measured
    assert chosen() == {"a": "quick"}


def test_tiny_calls_get_a_budgets_worth_of_rounds():
    calls = {"first": 0, "second": 0}

    def first():
        calls["first"] += 1

    def second():
        calls["second"] += 1

    fastest("tiny", {"first": first, "second": second})
    assert calls["first"] > 10 * fastest_module.MIN_ROUNDS  # microsecond calls: many rounds


def test_a_candidate_must_beat_the_first_by_the_margin():
    """2 % faster is a tie, and the first (plainer) path stays; 10 % faster wins."""
    assert fastest_module.choose({"topk": 1.0, "partition": 0.98}) == "topk"
    assert fastest_module.choose({"topk": 1.0, "partition": 0.90}) == "partition"
    assert fastest_module.choose({"topk": 0.5, "partition": 0.9}) == "topk"
    assert fastest_module.choose({"only": 1.0}) == "only"


def test_keys_are_measured_apart_and_forget_drops_them():
    assert fastest(("x", 1), {"p": lambda: time.sleep(0.003), "q": lambda: None}) == "q"
    assert fastest(("x", 2), {"p": lambda: None, "q": lambda: time.sleep(0.003)}) == "p"
    assert chosen() == {("x", 1): "q", ("x", 2): "p"}
    forget()
    assert chosen() == {}
