"""How tables and figures identify and name search runs: the run keys, gradient orders and method labels.

Kept free of plotting imports, so the lookup stage can use it too.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from balenas.methods import METHODS

#: What identifies one search run (the search stage's path wildcards).
RUN_KEYS: tuple[str, ...] = ("space", "dataset", "method", "order", "seed")
#: The paper's names of the gradient orders.
ORDER_NAMES: Mapping[int, str] = MappingProxyType({1: "1st", 2: "2nd"})


def order_name(order: object) -> str:
    """``1st``, ``2nd`` (``1``, ``2.0`` and ``"2"`` alike); ``order <order>`` for any other order."""
    return ORDER_NAMES.get(int(order), f"order {order}")  # type: ignore[call-overload]


def method_label(method: str) -> str:
    """The registered method's label (``DARTS``, ``BaLeNAS``); an unregistered name as is."""
    return METHODS.get(method).label if method in METHODS else method
