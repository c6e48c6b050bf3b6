"""Weight-sharing supernets and discrete networks, by space name.

``SUPERNETS[space](model_cfg, num_classes, in_channels)`` builds the search network, whose
``forward(x, weights)`` takes the mixing weights as the space's named groups; ``NETWORKS[space](genotype,
network_cfg, num_classes, in_channels)`` the discrete network of one genotype. The configs are the space's
frozen dataclasses (``space.model_config``, ``space.network_config``).
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Any

from torch import nn

from balenas.registry import Registry
from balenas.supernets.nb201 import nb201_network, nb201_supernet

SupernetFactory = Callable[[Any, int, int], nn.Module]
NetworkFactory = Callable[[Hashable, Any, int, int], nn.Module]

SUPERNETS: Registry[SupernetFactory] = Registry("supernet")
SUPERNETS.add("nb201", nb201_supernet)

NETWORKS: Registry[NetworkFactory] = Registry("network")
NETWORKS.add("nb201", nb201_network)

__all__ = ["NETWORKS", "SUPERNETS", "nb201_network", "nb201_supernet"]
