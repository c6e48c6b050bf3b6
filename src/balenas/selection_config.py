"""Semantic checks of the ``selection:`` and ``proxy_correlation:`` config blocks (run by ``check_config``).

The JSON schema checks types and ranges; here proxy and selector names are checked against the registries
and the data entries the blocks use are checked like any searched dataset. Errors are ``ValueError``s
whose message names the key; :func:`balenas.config.check_config` turns them into ``ConfigError``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from balenas.data import DataConfig, check_data_config
from balenas.proxies import PROXIES
from balenas.select import SELECTORS, NetworkConfig
from balenas.stages.proxy_correlation import CorrelationConfig


def _check_proxies(key: str, names: Any) -> None:
    for name in names or []:
        if name not in PROXIES:
            raise ValueError(f"{key}: unknown proxy {name!r}; valid: {', '.join(PROXIES.keys())}")


def selection_network(config: Mapping[str, Any], space: str) -> NetworkConfig:
    """The scored network of ``space`` (``space_settings.<space>.network``) and ``selection.batch_size``
    (default: the paper's 64)."""
    sel = config.get("selection") or {}
    block = ((config.get("space_settings") or {}).get(space) or {}).get("network") or {}
    return NetworkConfig(batch_size=int(sel.get("batch_size", 64)), network=dict(block))


def check_selection(config: Mapping[str, Any]) -> None:
    sel = config.get("selection")
    if not sel:
        return
    for name in sel.get("selectors", []):
        if name not in SELECTORS:
            raise ValueError(f"selection.selectors: unknown selector {name!r}; valid: {', '.join(SELECTORS.keys())}")
    _check_proxies("selection.proxies", sel.get("proxies"))
    if sel.get("selectors") and not (sel.get("ks") and sel.get("proxies")):
        raise ValueError("selection.ks and selection.proxies: need at least one entry each when selectors are set")
    try:
        NetworkConfig(batch_size=int(sel.get("batch_size", 64)))
    except ValueError as err:
        raise ValueError(f"selection.batch_size: {err}") from None


def correlation_config(config: Mapping[str, Any]) -> CorrelationConfig:
    """The ``proxy_correlation:`` block as a :class:`CorrelationConfig`.

    Keys the block omits (and empty ``proxies`` / ``metrics``) take the dataclass defaults: every proxy,
    :data:`balenas.stages.proxy_correlation.DEFAULT_METRICS`.
    """
    block = dict(config.get("proxy_correlation") or {})
    net = block.get("network") or {}
    kwargs: dict[str, Any] = {"n_archs": int(block.get("n_archs", 0)), "dataset": block.get("dataset")}
    kwargs.update({k: int(net[k]) for k in ("channels", "cells_per_stage") if k in net})
    kwargs.update({k: int(block[k]) for k in ("batch_size", "seed") if k in block})
    kwargs.update({k: tuple(block[k]) for k in ("proxies", "metrics") if block.get(k)})
    return CorrelationConfig(**kwargs)


def check_proxy_correlation(config: Mapping[str, Any]) -> None:
    block = config.get("proxy_correlation")
    if not block or not block.get("n_archs"):
        return
    _check_proxies("proxy_correlation.proxies", block.get("proxies"))
    dataset = block.get("dataset")
    entry = (config.get("data") or {}).get(dataset)
    if entry is None:
        raise ValueError(
            f"proxy_correlation.dataset: {dataset!r} has no entry under data: (defined: {sorted(config.get('data', {}))})"
        )
    try:
        check_data_config(DataConfig.from_mapping(dataset, entry))
        correlation_config(config)
    except (KeyError, TypeError, ValueError, FileNotFoundError) as err:
        raise ValueError(f"proxy_correlation: {str(err).strip(chr(39) + chr(34))}") from None
