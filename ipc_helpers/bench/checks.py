"""Argument checks of the benchmark's public functions, run in the parent before anything starts."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ..validation import check_choice, check_int
from .catalogue import MAX_PAYLOAD, MIN_PAYLOAD, PLACEMENTS


def check_payloads(payloads: Any) -> tuple[int, ...]:
    """Return ``payloads`` as a sorted tuple of sizes in ``[MIN_PAYLOAD, MAX_PAYLOAD]``."""
    if isinstance(payloads, (str, bytes)) or not isinstance(payloads, Iterable):
        raise TypeError(f"payloads must be a list of sizes in bytes, got {type(payloads).__name__}")
    sizes = [
        check_int(f"payloads[{i}]", p, minimum=MIN_PAYLOAD, maximum=MAX_PAYLOAD)
        for i, p in enumerate(payloads)
    ]
    if not sizes:
        raise ValueError("payloads must hold at least one size")
    return tuple(sorted(set(sizes)))


def check_mechanisms(
    mechanisms: Any, known: Mapping[str, Any], name: str = "mechanisms"
) -> tuple[str, ...]:
    """Return ``mechanisms`` as a tuple of names from ``known`` (no repeats)."""
    if isinstance(mechanisms, str) or not isinstance(mechanisms, Iterable):
        raise TypeError(f"{name} must be a list of names, got {type(mechanisms).__name__}")
    chosen = tuple(dict.fromkeys(mechanisms))
    if not chosen:
        raise ValueError(f"{name} must name at least one mechanism")
    for m in chosen:
        if m not in known:
            raise ValueError(f"unknown mechanism {m!r} in {name}; choose from {', '.join(known)}")
    return chosen


def check_placement(placement: Any) -> str:
    """Return ``placement`` if it is ``"one CPU"`` or ``"free"``."""
    return check_choice("placement", placement, PLACEMENTS)
