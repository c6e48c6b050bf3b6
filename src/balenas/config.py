"""From the Snakemake config (a plain mapping) to frozen config objects, with semantic checks.

:func:`validate_config` checks types and ranges with the JSON schema (``workflow/schemas/config.schema.yaml``),
whose registry-valued enums (``x-registry: methods`` and the like) are filled from the registries here, so
every valid name has one list: the registry's. :func:`check_config` checks what a schema cannot: the
experiment sheet against the registries, method settings against each method's keys, every space's model
blocks against its config dataclasses, and that every configured data path exists. Both run when the
workflow is parsed, before any job. This module imports neither plotting nor report code.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from balenas.analysis.hessian import HESSIAN_MODES
from balenas.archopt.gradients import GRADIENTS
from balenas.archopt.vadam import VADAM_FORMS
from balenas.benchmarks.settings import BenchmarkConfigError, check_table1_choice, resolve_benchmarks
from balenas.data import SOURCES, DataConfig, check_data_config
from balenas.experiments import Experiment, SheetError, check_sheet, experiments_of
from balenas.methods import METHODS
from balenas.proxies import PROXIES
from balenas.registry import Registry
from balenas.search import WEIGHT_STEP_ALPHA, SearchConfig, WeightOptConfig
from balenas.guards import ON_DIVERGENCE
from balenas.speed import SUPERNET_IMPLS, SpeedConfig, check_supernet_impl
from balenas.select import ALL_SELECTORS, SELECTORS
from balenas.selection_config import check_proxy_correlation, check_selection
from balenas.spaces import SPACES, get_space


class ConfigError(ValueError):
    """A configuration problem; the message names the key."""


#: What ``x-registry: <name>`` in the schema stands for.
SCHEMA_REGISTRIES: dict[str, Registry[Any]] = {
    "spaces": SPACES,
    "methods": METHODS,
    "selectors": ALL_SELECTORS,  # a row may name any selector
    "proxy_selectors": SELECTORS,  # selection.selectors, the rows' default: proxy-scored ones
    "proxies": PROXIES,
    "orders": GRADIENTS,
    "vadam_forms": VADAM_FORMS,
    "weight_step_alpha": WEIGHT_STEP_ALPHA,
    "data_sources": SOURCES,
    "on_divergence": ON_DIVERGENCE,
    "supernet_impls": SUPERNET_IMPLS,
    "hessian_modes": HESSIAN_MODES,
}


def fill_registry_enums(schema: Any) -> Any:
    """A copy of ``schema`` with every ``x-registry: name`` replaced by ``enum: <the registry's keys>``
    (integers for ``orders``)."""
    if isinstance(schema, dict):
        out = {k: fill_registry_enums(v) for k, v in schema.items() if k != "x-registry"}
        if "x-registry" in schema:
            name = schema["x-registry"]
            if name not in SCHEMA_REGISTRIES:
                raise ValueError(f"schema: unknown x-registry {name!r}; known: {sorted(SCHEMA_REGISTRIES)}")
            keys = SCHEMA_REGISTRIES[name].keys()
            out["enum"] = [int(k) for k in keys] if name == "orders" else list(keys)
        return out
    if isinstance(schema, list):
        return [fill_registry_enums(v) for v in schema]
    return schema


def load_schema(path: str | Path) -> dict[str, Any]:
    import yaml

    # libyaml's loader where PyYAML has it: the same document, parsed ~5x faster (it runs at every plan)
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return fill_registry_enums(yaml.load(Path(path).read_text(), Loader=loader))


def validate_config(config: dict[str, Any], schema_path: str | Path) -> None:
    """Validate ``config`` in place against the filled schema, setting the schema's defaults."""
    import jsonschema

    schema = load_schema(schema_path)
    base = jsonschema.Draft202012Validator

    def set_defaults(validator, properties, instance, schema):  # noqa: ANN001 - jsonschema's signature
        if isinstance(instance, dict):
            for key, sub in properties.items():
                if isinstance(sub, dict) and "default" in sub and key not in instance:
                    instance[key] = copy.deepcopy(sub["default"])
        yield from base.VALIDATORS["properties"](validator, properties, instance, schema)

    validator = jsonschema.validators.extend(base, {"properties": set_defaults})(schema)
    err = jsonschema.exceptions.best_match(validator.iter_errors(config))
    if err is not None:
        while err.context:  # oneOf / anyOf: the error of the branch that fits best
            err = jsonschema.exceptions.best_match(err.context)
        where = ".".join(str(p) for p in err.absolute_path) or "(top level)"
        raise ConfigError(f"{where}: {err.message}")


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


def space_block(config: Mapping[str, Any], space: str, part: str) -> dict[str, Any]:
    """``space_settings.<space>.<part>`` (``supernet`` or ``network``), empty when not given."""
    return dict(((config.get("space_settings") or {}).get(space) or {}).get(part) or {})


def merged_search_block(
    config: Mapping[str, Any], space: str, dataset: str | None = None, method: str | None = None
) -> dict[str, Any]:
    """``search:`` with ``space_settings.<space>.search`` and then the sheet row's ``search`` merged over it
    (nested blocks key by key): a space can run with its own batch size or weight optimizer (NAS-Bench-1Shot1:
    batch 96, weight decay 3e-4), a row with its own epochs."""
    out = copy.deepcopy(dict(config["search"]))
    overrides = [((config.get("space_settings") or {}).get(space) or {}).get("search") or {}]
    if method is not None:
        overrides += [e.search or {} for e in experiments(config)
                      if (e.space, e.dataset, e.method) == (space, dataset, method)]
    for override in overrides:
        for key, value in override.items():
            if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
                out[key] = {**out[key], **value}
            else:
                out[key] = copy.deepcopy(value)
    return out


def search_config(
    config: Mapping[str, Any], space: str, dataset: str, method: str, order: int, seed: int
) -> SearchConfig:
    s = merged_search_block(config, space, dataset, method)
    weights = WeightOptConfig(**s.pop("weights", {}))
    try:
        speed = SpeedConfig.from_mapping(s.pop("speed", None))
        check_supernet_impl(speed.supernet, space)
    except ValueError as err:
        raise ConfigError(str(err)) from None
    try:
        settings = config["method_settings"][method]
    except KeyError:
        raise ConfigError(f"method_settings.{method}: missing (the experiment sheet runs {method!r})") from None
    return SearchConfig(
        space=space,
        dataset=dataset,
        method=method,
        seed=int(seed),
        order=int(order),
        method_settings=dict(settings),
        model=space_block(config, space, "supernet"),
        weights=weights,
        speed=speed,
        **s,
    )


def experiments(config: Mapping[str, Any]) -> list[Experiment]:
    try:
        return experiments_of(config)
    except SheetError as err:
        raise ConfigError(str(err)) from None


def check_config(config: Mapping[str, Any]) -> None:
    """Raise :class:`ConfigError` naming the offending key; called before any job starts."""
    sheet = experiments(config)
    try:
        check_sheet(sheet, SPACES, METHODS, ALL_SELECTORS, (config.get("data") or {}).keys())
    except SheetError as err:
        raise ConfigError(str(err)) from None
    for space in {e.space for e in sheet}:
        for part, make in (("supernet", "make_model_config"), ("network", "make_network_config")):
            try:
                getattr(get_space(space), make)(space_block(config, space, part))
            except ValueError as err:
                raise ConfigError(str(err)) from None
    for method in sorted({e.method for e in sheet}):
        settings = (config.get("method_settings") or {}).get(method)
        if settings is None:
            raise ConfigError(f"method_settings.{method}: missing (the experiment sheet runs {method!r})")
        try:
            METHODS.get(method).check_settings(settings)
        except KeyError as err:
            raise ConfigError(str(err).strip("'\"")) from err
    for dataset in sorted({e.dataset for e in sheet}):
        try:
            check_data_config(data_config(config, dataset))
        except (KeyError, ValueError, FileNotFoundError) as err:
            raise ConfigError(str(err).strip("'\"")) from err
    for e in sheet:
        try:
            search_config(config, e.space, e.dataset, e.method, e.orders[0], e.seeds[0])
        except (TypeError, ValueError) as err:
            raise ConfigError(f"search ({e.space}/{e.dataset}/{e.method}): {err}") from err
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
