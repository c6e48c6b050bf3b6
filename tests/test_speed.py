import pytest
import torch

from balenas.spaces.nb201 import NB201Config
from balenas.speed import SpeedConfig, SpeedWrapper, build_supernet
from balenas.supernets.nb201_fast import FastNB201Network
from tests.conftest import default_config


def test_speed_config_rejects_unknown_keys_and_values():
    with pytest.raises(ValueError, match="search.speed: unknown keys"):
        SpeedConfig.from_mapping({"superent": "fast"})
    with pytest.raises(ValueError, match="search.speed.supernet"):
        SpeedConfig(supernet="turbo")
    with pytest.raises(ValueError, match="compile"):
        SpeedConfig(compile="yes")


def test_default_speed_builds_the_plain_supernet_unwrapped():
    net = build_supernet("nb201", SpeedConfig(), NB201Config(4, 1), 10, 3, torch.device("cpu"))
    assert not isinstance(net, (SpeedWrapper, FastNB201Network))


def test_wrapper_keeps_the_state_dict_and_returns_float32_logits():
    plain = build_supernet("nb201", SpeedConfig(), NB201Config(4, 1), 10, 3, torch.device("cpu"))
    wrapped = build_supernet("nb201", SpeedConfig(supernet="fast", channels_last=True, autocast_bf16=True),
                             NB201Config(4, 1), 10, 3, torch.device("cpu"))
    assert isinstance(wrapped, SpeedWrapper)
    assert wrapped.state_dict().keys() == plain.state_dict().keys()
    wrapped.load_state_dict(plain.state_dict())
    x, w = torch.randn(2, 3, 8, 8), torch.softmax(torch.randn(6, 5), -1)
    out = wrapped(x, w)
    assert out.dtype == torch.float32
    # bf16 changes numerics, but only to bf16 precision
    assert (out - plain(x, w)).abs().max() < 0.1


def test_search_config_reads_speed_and_names_a_bad_key():
    import copy

    from balenas.config import ConfigError, search_config
    from balenas.search import SearchConfig

    config = default_config()
    assert search_config(config, "nb201", "digits", "darts", 1, 0).speed == SpeedConfig()  # default: plain
    fast = copy.deepcopy(config)
    fast["search"]["speed"] = {"supernet": "fast", "tf32": True}
    cfg = search_config(fast, "nb201", "digits", "darts", 1, 0)
    assert cfg.speed == SpeedConfig(supernet="fast", tf32=True)
    assert SearchConfig.from_dict(cfg.to_dict()) == cfg
    fast["search"]["speed"] = {"channel_last": True}
    with pytest.raises(ConfigError, match="search.speed: unknown keys"):
        search_config(fast, "nb201", "digits", "darts", 1, 0)


def test_a_fast_supernet_for_a_space_without_one_fails_at_parse_time_naming_the_key():
    import copy

    from balenas.config import ConfigError, check_config, search_config
    from balenas.speed import IMPL_SPACES, SUPERNET_IMPLS

    assert set(IMPL_SPACES) == set(SUPERNET_IMPLS.keys())  # every implementation says where it exists
    config = default_config()  # its sheet has nb201, nb1shot1-s1 and darts rows
    everywhere = copy.deepcopy(config)
    everywhere["search"]["speed"] = {"supernet": "fast"}
    with pytest.raises(ConfigError, match=r"search.speed.supernet: 'fast' exists for nb201, darts only, not 'nb1shot1-s1'"):
        check_config(everywhere)
    everywhere["search"]["speed"] = {"supernet": "fast_avgpool"}
    with pytest.raises(ConfigError, match=r"'fast_avgpool' exists for nb201 only, not 'darts'"):
        search_config(everywhere, "darts", "digits_tiny", "darts", 1, 0)  # the one place that reads search.speed
    everywhere["search"]["speed"] = {"supernet": "fast"}
    assert search_config(everywhere, "nb201", "digits", "darts", 1, 0).speed.supernet == "fast"
    assert search_config(everywhere, "darts", "digits_tiny", "darts", 1, 0).speed.supernet == "fast"
    per_space = copy.deepcopy(config)
    per_space["space_settings"]["nb201"]["search"] = {"speed": {"supernet": "fast"}}
    check_config(per_space)  # the nb201 rows only: valid
