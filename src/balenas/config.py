"""From the Snakemake config (a plain mapping) to frozen config objects, with semantic checks.

The JSON schema (``workflow/schemas/config.schema.yaml``) checks types and ranges; :func:`check_config`
checks what a schema cannot: names against the registries, method settings against each method's keys,
and that every configured data path exists. Both run when the workflow is parsed, before any job.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from balenas.archopt.gradients import GRADIENTS
from balenas.benchmarks.settings import BenchmarkConfigError, check_table1_choice, resolve_benchmarks
from balenas.data import DataConfig, check_data_config
from balenas.methods import METHODS
from balenas.proxies import PROXIES
from balenas.registry import Registry
from balenas.search import SearchConfig, WeightOptConfig
from balenas.speed import SpeedConfig
from balenas.selection_config import check_proxy_correlation, check_selection
from balenas.spaces import SPACES


class ConfigError(ValueError):
    """A configuration problem; the message names the key."""


def data_config(config: Mapping[str, Any], dataset: str) -> DataConfig:
    try:
        entry = config["data"][dataset]
    except KeyError:
        raise ConfigError(
            f"datasets: {dataset!r} has no entry under data: (defined: {sorted(config.get('data', {}))})"
        ) from None
    try:
        return DataConfig.from_mapping(dataset, entry)
    except (KeyError, TypeError) as err:
        raise ConfigError(f"data.{dataset}: {err}") from err


def search_config(
    config: Mapping[str, Any], space: str, dataset: str, method: str, order: int, seed: int
) -> SearchConfig:
    s = dict(config["search"])
    weights = WeightOptConfig(**s.pop("weights", {}))
    try:
        speed = SpeedConfig.from_mapping(s.pop("speed", None))
    except ValueError as e:
        raise ConfigError(str(e)) from None
    try:
        settings = config["method_settings"][method]
    except KeyError:
        raise ConfigError(f"methods: {method!r} has no block under method_settings:") from None
    return SearchConfig(
        space=space,
        dataset=dataset,
        method=method,
        seed=int(seed),
        order=int(order),
        method_settings=dict(settings),
        weights=weights,
        speed=speed,
        **s,
    )


def _check_names(config: Mapping[str, Any], key: str, registry: Registry[Any], convert: type = str) -> None:
    for name in config[key]:
        if convert(name) not in registry:
            raise ConfigError(f"{key}: unknown entry {name!r}; valid: {', '.join(registry.keys())}")


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the offending key; called before any job starts."""
    for key in ("spaces", "datasets", "methods", "orders", "seeds"):
        if not config.get(key):
            raise ConfigError(f"{key}: must be a non-empty list")
    _check_names(config, "spaces", SPACES)
    _check_names(config, "methods", METHODS)
    _check_names(config, "orders", GRADIENTS)
    for method in config["methods"]:
        settings = config.get("method_settings", {}).get(method)
        if settings is None:
            raise ConfigError(f"method_settings.{method}: missing (methods lists {method!r})")
        try:
            METHODS.get(method).check_settings(settings)
        except KeyError as err:
            raise ConfigError(str(err).strip("'\"")) from err
    for dataset in config["datasets"]:
        try:
            check_data_config(data_config(config, dataset))
        except (KeyError, ValueError, FileNotFoundError) as err:
            raise ConfigError(str(err).strip("'\"")) from err
    try:
        search_config(config, config["spaces"][0], config["datasets"][0], config["methods"][0],
                      config["orders"][0], config["seeds"][0])
    except (TypeError, ValueError) as err:
        raise ConfigError(f"search: {err}") from err
    try:
        resolve_benchmarks(config.get("benchmarks"))  # a corrupt or wrong-format file fails here
        check_table1_choice(config, PROXIES)
    except BenchmarkConfigError as err:
        raise ConfigError(str(err)) from err
    try:
        check_selection(config)
        check_proxy_correlation(config)
    except ValueError as err:
        raise ConfigError(str(err)) from err
