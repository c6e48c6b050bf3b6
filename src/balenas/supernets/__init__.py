"""Weight-sharing supernets and discrete networks, by space name."""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from balenas.registry import Registry
from balenas.spaces.base import Genotype
from balenas.supernets.nb201 import nb201_network, nb201_supernet

SupernetFactory = Callable[[int, int, int, int], nn.Module]
NetworkFactory = Callable[[Genotype, int, int, int, int], nn.Module]

SUPERNETS: Registry[SupernetFactory] = Registry("supernet")
SUPERNETS.add("nb201", nb201_supernet)

NETWORKS: Registry[NetworkFactory] = Registry("network")
NETWORKS.add("nb201", nb201_network)

__all__ = ["NETWORKS", "SUPERNETS", "nb201_network", "nb201_supernet"]
