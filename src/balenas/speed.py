"""Speed options of the search (config ``search.speed``): which supernet implementation, and the options that
change numerics (channels_last, bf16 autocast, TF32, torch.compile), all off by default.

``supernet: plain`` is the reference-style supernet (one module per op per edge); ``fast`` is
:mod:`balenas.supernets.nb201_fast` in NB201 (the same state dict, conv kernels fused per node; float32
rounding-level differences; 3x3 average pooling as a depthwise convolution) and
:mod:`balenas.supernets.darts_fast` in the DARTS space (the same modules; ReLU and BN(pool) shared by the
out-edges of a state); ``fast_avgpool`` (NB201) keeps ``avg_pool2d`` for the pooling.
``vector_augment`` crops and flips a batch with one gather instead of one slice per image: bit-identical
results, on by default.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
from torch import nn

from balenas.registry import Registry

SupernetBuilder = Callable[[Any, int, int], nn.Module]  # (model config, classes, input channels)
SUPERNET_IMPLS: Registry[Callable[[str], SupernetBuilder]] = Registry("supernet implementation")
COMPILE_MODES = ("", "default", "reduce-overhead", "max-autotune")


def _plain(space: str) -> SupernetBuilder:
    from balenas.supernets import SUPERNETS

    return SUPERNETS.get(space)


#: The spaces each implementation exists for (None: every space); filled by :func:`_register`.
IMPL_SPACES: dict[str, tuple[str, ...] | None] = {}


def check_supernet_impl(impl: str, space: str) -> None:
    """Raise ``ValueError`` naming the key when ``search.speed.supernet: impl`` has no version for ``space``
    (checked when the workflow is parsed, so a run does not fail at its first search job)."""
    spaces = IMPL_SPACES.get(impl)
    if spaces is not None and space not in spaces:
        raise ValueError(
            f"search.speed.supernet: {impl!r} exists for {', '.join(spaces)} only, not {space!r} (set it per space "
            f"under space_settings.<space>.search.speed, or per row under experiments[].search.speed)"
        )


def _fast_nb201(pool_as_conv: bool) -> SupernetBuilder:
    from balenas.supernets.nb201_fast import nb201_fast_supernet

    return lambda cfg, k, i: nb201_fast_supernet(cfg.channels, cfg.cells_per_stage, k, i, pool_as_conv=pool_as_conv)


def _fast_darts() -> SupernetBuilder:
    from balenas.supernets.darts_fast import darts_fast_supernet

    return darts_fast_supernet


def _register(name: str, factory: Callable[[str], SupernetBuilder], spaces: tuple[str, ...] | None) -> None:
    """One place per implementation: its factory and the spaces it exists for."""
    SUPERNET_IMPLS.add(name, factory)
    IMPL_SPACES[name] = spaces


def _register_per_space(name: str, builders: Mapping[str, Callable[[], SupernetBuilder]]) -> None:
    """An implementation with one builder per space (imported when used); its spaces are the builders' keys."""

    def factory(space: str) -> SupernetBuilder:
        check_supernet_impl(name, space)
        return builders[space]()

    _register(name, factory, tuple(builders))


_register("plain", _plain, None)
_register_per_space("fast", {"nb201": partial(_fast_nb201, pool_as_conv=True), "darts": _fast_darts})
_register_per_space("fast_avgpool", {"nb201": partial(_fast_nb201, pool_as_conv=False)})


@dataclass(frozen=True)
class SpeedConfig:
    supernet: str = "plain"
    vector_augment: bool = True  # bit-identical to the per-image loop
    channels_last: bool = False
    autocast_bf16: bool = False
    tf32: bool = False
    compile: str = ""  # "" (off) or a torch.compile mode; "reduce-overhead" uses CUDA graphs
    deterministic: bool = True  # cuDNN deterministic algorithms, no autotuning (GPU only; as seed_everything sets)

    def __post_init__(self) -> None:
        if self.supernet not in SUPERNET_IMPLS:
            raise ValueError(f"search.speed.supernet must be one of {list(SUPERNET_IMPLS.keys())}, "
                             f"got {self.supernet!r}")
        if self.compile not in COMPILE_MODES:
            raise ValueError(f"search.speed.compile must be one of {COMPILE_MODES}, got {self.compile!r}")

    @staticmethod
    def from_mapping(d: Mapping[str, Any] | None) -> SpeedConfig:
        d = dict(d or {})
        unknown = set(d) - set(SpeedConfig.__dataclass_fields__)
        if unknown:
            raise ValueError(f"search.speed: unknown keys {sorted(unknown)}; "
                             f"valid: {sorted(SpeedConfig.__dataclass_fields__)}")
        return SpeedConfig(**d)

    @property
    def wraps(self) -> bool:
        return self.channels_last or self.autocast_bf16 or bool(self.compile)


class SpeedWrapper(nn.Module):
    """Runs ``net`` in channels_last / bf16 autocast / compiled; logits come back in float32.

    Parameters, their order and the state dict are ``net``'s own (no prefix), so checkpoints and optimizers
    see the unwrapped network.
    """

    def __init__(self, net: nn.Module, speed: SpeedConfig) -> None:
        super().__init__()
        self.net = net
        self.speed = speed
        if speed.channels_last:
            net.to(memory_format=torch.channels_last)
        # not a submodule: the compiled module shares ``net``'s parameters
        object.__setattr__(self, "_fn", torch.compile(net, mode=speed.compile) if speed.compile else net)

    def forward(self, x: torch.Tensor, weights: Any = None) -> torch.Tensor:
        if self.speed.channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        with _autocast(x.device, self.speed.autocast_bf16):
            out = self._fn(x, weights)
        return out.float()

    def state_dict(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self.net.state_dict(*args, **kwargs)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True, assign: bool = False) -> Any:
        return self.net.load_state_dict(state_dict, strict=strict, assign=assign)


@contextlib.contextmanager
def _autocast(device: torch.device, enabled: bool) -> Iterator[None]:
    if not enabled:
        yield
        return
    with torch.autocast(device_type=device.type, dtype=torch.bfloat16):
        yield


def apply_backend_flags(speed: SpeedConfig) -> None:
    """Process-wide flags: TF32 matmuls and convolutions, cuDNN determinism/autotuning (no effect on the CPU)."""
    torch.backends.cuda.matmul.allow_tf32 = speed.tf32
    torch.backends.cudnn.allow_tf32 = speed.tf32
    # seed_everything makes cuDNN deterministic (no autotuning); deterministic: false trades that for speed
    torch.backends.cudnn.deterministic = speed.deterministic
    torch.backends.cudnn.benchmark = not speed.deterministic


def build_supernet(space: str, speed: SpeedConfig, model_cfg: Any, num_classes: int,
                   in_channels: int, device: torch.device) -> nn.Module:
    """The search supernet of ``space`` (from its model config) with ``speed``'s implementation and options,
    on ``device``."""
    net = SUPERNET_IMPLS.get(speed.supernet)(space)(model_cfg, num_classes, in_channels).to(device)
    apply_backend_flags(speed)
    return SpeedWrapper(net, speed) if speed.wraps else net
