"""How tables and figures identify, name and draw search runs: run keys, gradient orders, labels, styles.

Everything here is derived from the registries: a row or curve per (method, order) for every method in
:data:`balenas.methods.METHODS` (its ``orders``, default ``(1, 2)``), plus the selector rows (BaLeNAS-TF,
Zero-cost NAS). One label function (:func:`run_label`) and one style function (:func:`run_style`) serve
Tables 1-2 and Figures 2-3, so a newly registered method gets a name, a paper key and a colour without an
edit here. Kept free of plotting imports (colours are matplotlib colour names, not objects).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from balenas.methods import METHODS

#: What identifies one search run (the search stage's path wildcards).
RUN_KEYS: tuple[str, ...] = ("space", "dataset", "method", "order", "seed")
#: The paper's names of the gradient orders.
ORDER_NAMES: Mapping[int, str] = MappingProxyType({1: "1st", 2: "2nd"})
DEFAULT_ORDERS: tuple[int, ...] = (1, 2)
#: Line colours, handed out in the method registry's (sorted) order: balenas blue, darts red, as before.
PALETTE: tuple[str, ...] = (
    "tab:blue", "tab:red", "tab:green", "tab:orange", "tab:purple",
    "tab:brown", "tab:pink", "tab:olive", "tab:cyan", "tab:gray",
)
#: Line style and marker per gradient order (overlapping curves stay distinguishable).
ORDER_STYLES: Mapping[int, Mapping[str, object]] = MappingProxyType(
    {
        1: MappingProxyType({"linestyle": "-", "marker": "o", "ms": 3}),
        2: MappingProxyType({"linestyle": "--", "marker": "s", "ms": 4, "mfc": "none"}),
    }
)
ZERO_COST_LABEL = "Zero-cost NAS"


def order_name(order: object) -> str:
    """``1st``, ``2nd`` (``1``, ``2.0`` and ``"2"`` alike); ``order <order>`` for any other order."""
    return ORDER_NAMES.get(int(order), f"order {order}")  # type: ignore[call-overload]


def method_label(method: str) -> str:
    """The registered method's label (``DARTS``, ``BaLeNAS``); an unregistered name as is."""
    return METHODS.get(method).label if method in METHODS else method


def method_orders(method: str) -> tuple[int, ...]:
    """The gradient orders a registered method defines (``Method.orders``)."""
    return tuple(METHODS.get(method).orders)


def paper_key(method: str, order: int) -> str:
    """The method row's key in the paper's Table 1 CSV: ``Method.paper_rows[order]`` when the method gives
    one, else ``<name>_1st`` / ``<name>_2nd`` for a method with several orders and ``<name>`` otherwise."""
    rows = METHODS.get(method).paper_rows if method in METHODS else {}
    if int(order) in rows:
        return str(rows[int(order)])
    orders = method_orders(method) if method in METHODS else DEFAULT_ORDERS
    return f"{method}_{order_name(order)}" if len(orders) > 1 else method


def run_label(method: str, order: object) -> str:
    """``DARTS (1st)``, ``BaLeNAS (2nd)``; a single-order method by its label alone (``ENAS``)."""
    if method in METHODS and len(method_orders(method)) == 1:
        return method_label(method)
    return f"{method_label(method)} ({order_name(order)})"


def tf_label(method: str) -> str:
    """``BaLeNAS-TF``, ``DARTS-TF``: a method's label with the TF selection."""
    return f"{method_label(method)}-TF"


def method_colour(method: str) -> str | None:
    """The method's colour: its position in the registry picks from :data:`PALETTE`; ``None`` if unregistered."""
    names = list(METHODS.keys())
    return PALETTE[names.index(method) % len(PALETTE)] if method in names else None


def run_style(method: str, order: object) -> dict[str, object]:
    """``plot`` keywords for one (method, order): the method's colour, the order's line style and marker."""
    style: dict[str, object] = dict(ORDER_STYLES.get(int(order), ORDER_STYLES[1]))  # type: ignore[call-overload]
    colour = method_colour(method)
    return {**style, "color": colour} if colour else style


def label_style(label: str) -> dict[str, object]:
    """:func:`run_style` of the run whose :func:`run_label` is ``label`` (curves are grouped by label);
    an unknown label gets the first-order style without a colour."""
    for method in METHODS.keys():
        for order in method_orders(method):
            if run_label(method, order) == label:
                return run_style(method, order)
    return dict(ORDER_STYLES[1])


@dataclass(frozen=True)
class SelectorRow:
    """A Table-1 row filled by a selection: ``selector`` over ``method``'s runs (empty: no search)."""

    key: str  # the row key in the lookups (``balenas_tf``, ``zero_cost``)
    label: str
    paper_key: str  # its key in the paper's Table 1 CSV
    selector: str
    method: str = ""


def selector_rows() -> tuple[SelectorRow, ...]:
    """The paper's selection rows: Zero-cost NAS (selector ``uniform``) and BaLeNAS-TF (``tf`` on BaLeNAS)."""
    return (
        SelectorRow("zero_cost", ZERO_COST_LABEL, "zero_cost_nas", "uniform"),
        SelectorRow("balenas_tf", tf_label("balenas"), "balenas_tf", "tf", "balenas"),
    )
