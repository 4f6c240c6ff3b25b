"""Sparsity sweeps: a grid of networks derived from one network of the networks file.

A sweep (config key ``sweeps``) names a data set, a base network of the paper's shape and a list
of values per axis: the hidden layer's activation density (k as a fraction of n), every conv
layer's activation density (k as a fraction of its units after pooling), the hidden layer's
weight density and its width n. Every point of the grid is a `NetworkDefinition`: the base with
those values, a stable name derived from the point (``hidden_la0p05_wd0p3``: the sweep's name,
then one part per axis that the sweep sets) and ``sweep`` set to the sweep's name. The workflow
trains and scores them with the same rules as any network; the reports find them by ``sweep``.

Densities become integers as ``k = max(1, round(density * units))``; density 1 makes the layer a
plain ReLU. The figures and the trend claim use the realised densities (:func:`coordinates`),
which are also defined for the paper's own networks, so those can be drawn on the same axes.
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sparse_pkg.errors import InputError
from sparse_pkg.network_definitions import NetworkDefinition

AXES = ("linear_activation_density", "conv_activation_density", "weight_density", "linear_n")
"""The axes a sweep may vary, in the order of the names' parts and of the figures' choice of
x-axis (the first axis with more than one value)."""
AXIS_CODES = {"linear_activation_density": "la", "conv_activation_density": "ca",
              "weight_density": "wd", "linear_n": "n"}
AXIS_WORDS = {"linear_activation_density": "k/n", "conv_activation_density": "conv density",
              "weight_density": "weight density", "linear_n": "n"}
"""Short names of the axes in legends."""
AXIS_LABELS = {
    "linear_activation_density": "hidden-layer activation density k/n",
    "conv_activation_density": "conv activation density (active / units, all conv layers)",
    "weight_density": "hidden-layer weight density (non-zero fraction)",
    "linear_n": "hidden-layer width n",
}
EXPECTED_TREND = {"linear_activation_density": "less", "conv_activation_density": "less",
                  "weight_density": "less", "linear_n": "greater"}
"""The paper's expectation along each axis (Figure 2, §1): the noise score rises as a density
falls (a negative correlation) and as the layer grows wider (a positive one)."""


class SweepError(InputError, ValueError):
    """A sweep cannot be generated; the message names the config key and what to do."""


@dataclass(frozen=True)
class Sweep:
    """One configured sweep: its axes' values (only the axes it sets) and its seed count."""

    name: str
    dataset: str
    base: str
    axes: tuple[tuple[str, tuple[Any, ...]], ...]
    seeds: int | None = None

    @classmethod
    def from_config(cls, name: str, entry: Mapping[str, Any]) -> Sweep:
        axes = tuple((axis, tuple(entry[axis])) for axis in AXES if entry.get(axis) is not None)
        if not axes:
            raise SweepError(f"config key sweeps.{name}: no axis to sweep; give at least one of "
                             f"{', '.join(AXES)}")
        return cls(name, entry["dataset"], entry["base"], axes, entry.get("seeds"))

    def points(self) -> list[dict[str, Any]]:
        """Every grid point, as {axis: value}, in the order of the axes' values."""
        names = [axis for axis, _ in self.axes]
        return [dict(zip(names, values, strict=True))
                for values in itertools.product(*(values for _, values in self.axes))]


def value_code(value: float | int) -> str:
    """A grid value as part of a network name: 0.05 -> '0p05', 1 -> '1', 150 -> '150'."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    text = format(float(value), ".10f").rstrip("0").rstrip(".")
    return text.replace(".", "p")


def network_name(sweep: str, point: Mapping[str, Any]) -> str:
    """The stable name of a grid point: the sweep's name, then ``_<code><value>`` per axis."""
    return sweep + "".join(f"_{AXIS_CODES[a]}{value_code(point[a])}" for a in AXES if a in point)


def _k(density: float, units: int) -> int:
    return min(units, max(1, round(density * units)))


def point_definition(base: NetworkDefinition, sweep: str, point: Mapping[str, Any]
                     ) -> NetworkDefinition:
    """The base network with the grid point's values (see the module docstring)."""
    changes: dict[str, Any] = {"name": network_name(sweep, point), "sweep": sweep,
                               "published": None}
    n = point.get("linear_n", base.linear_n)
    changes["linear_n"] = n
    if "linear_activation_density" in point:
        changes["linear_k"] = _k(point["linear_activation_density"], n)
    else:  # keep the base's activation density at the new width
        changes["linear_k"] = _k(base.linear_k / base.linear_n, n)
    if "conv_activation_density" in point:
        density = point["conv_activation_density"]
        changes["conv_k"] = tuple(None if density >= 1.0 else _k(density, units)
                                  for units in base.conv_units)
    if "weight_density" in point:
        changes["weight_sparsity"] = float(point["weight_density"])
    values = ", ".join(f"{AXIS_CODES[a]} {point[a]:g}" for a in AXES if a in point)
    changes["label"] = f"{base.label} ({values})"
    return dataclasses.replace(base, **changes)


def sweep_definitions(sweep: Sweep, definitions: Any) -> list[NetworkDefinition]:
    """The networks of ``sweep``, generated from its base in ``definitions`` (a
    NetworkDefinitions); SweepError naming the config key when the base cannot be swept."""
    where = f"config key sweeps.{sweep.name}.base"
    known = [d.name for d in definitions.of(sweep.dataset)]
    if sweep.base not in known:
        raise SweepError(f"{where}: no {sweep.dataset} network '{sweep.base}' in "
                         f"{definitions.source} (known: {', '.join(known) or 'none'})")
    base = definitions.get(sweep.dataset, sweep.base)
    if base.model is not None or base.sweep is not None:
        raise SweepError(f"{where}: {sweep.base} is not of the paper's shape (a model of your "
                         "own has no layer keys to sweep); name a network of the paper's shape")
    generated = []
    for point in sweep.points():
        try:
            generated.append(point_definition(base, sweep.name, point))
        except InputError as exc:
            raise SweepError(f"config key sweeps.{sweep.name}: grid point {point}: {exc}") from None
    return generated


def coordinates(definition: NetworkDefinition) -> dict[str, float]:
    """Where a network of the paper's shape lies on the sweep axes, as realised: k/n of the
    hidden layer, active/total units over all conv layers (a ReLU layer counts as all active),
    the hidden weight density and n."""
    units = definition.conv_units
    active = sum(u if k is None else k for k, u in zip(definition.conv_k, units, strict=True))
    return {
        "linear_activation_density": definition.linear_k / definition.linear_n,
        "conv_activation_density": active / sum(units),
        "weight_density": float(definition.weight_sparsity),
        "linear_n": float(definition.linear_n),
    }


def varied_axes(definitions: list[NetworkDefinition]) -> list[str]:
    """The axes along which the realised coordinates of ``definitions`` differ, in AXES order."""
    points = [coordinates(d) for d in definitions]
    return [axis for axis in AXES if len({p[axis] for p in points}) > 1]
