"""Published DARTS-space CIFAR-10 cells, as their authors print them, with where they come from.

Each entry keeps the text exactly as the source repository prints it (some print ``range(2, 6)`` for the
concat lists); the genotype is parsed from that text, so loading published cells goes through the same
parser as everything else.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from balenas.registry import Registry
from balenas.spaces.darts.genotype import DartsGenotype, parse_genotype


@dataclass(frozen=True)
class PublishedGenotype:
    name: str
    text: str  # as printed in the source
    source: str  # URL of the file that prints it
    paper: str

    @cached_property
    def genotype(self) -> DartsGenotype:
        return parse_genotype(self.text)


PUBLISHED: Registry[PublishedGenotype] = Registry("published DARTS genotype")


def _add(name: str, text: str, source: str, paper: str) -> None:
    PUBLISHED.add(name, PublishedGenotype(name, text, source, paper))


_DARTS_PAPER = "Liu, Simonyan, Yang. DARTS: Differentiable Architecture Search. ICLR 2019 (arXiv:1806.09055)"
_DARTS_SOURCE = "https://github.com/quark0/darts/blob/master/cnn/genotypes.py"

_add(
    "DARTS_V1",
    "Genotype(normal=[('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 0), ('sep_conv_3x3', 1), "
    "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('skip_connect', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 0), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('avg_pool_3x3', 0)], "
    "reduce_concat=[2, 3, 4, 5])",
    _DARTS_SOURCE,
    _DARTS_PAPER + " (first order)",
)
_add(
    "DARTS_V2",
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 0), ('sep_conv_3x3', 1), "
    "('sep_conv_3x3', 1), ('skip_connect', 0), ('skip_connect', 0), ('dil_conv_3x3', 2)], "
    "normal_concat=[2, 3, 4, 5], reduce=[('max_pool_3x3', 0), ('max_pool_3x3', 1), ('skip_connect', 2), "
    "('max_pool_3x3', 1), ('max_pool_3x3', 0), ('skip_connect', 2), ('skip_connect', 2), ('max_pool_3x3', 1)], "
    "reduce_concat=[2, 3, 4, 5])",
    _DARTS_SOURCE,
    _DARTS_PAPER + " (second order)",
)
_add(
    "PC_DARTS",
    "Genotype(normal=[('sep_conv_3x3', 1), ('skip_connect', 0), ('sep_conv_3x3', 0), ('dil_conv_3x3', 1), "
    "('sep_conv_5x5', 0), ('sep_conv_3x3', 1), ('avg_pool_3x3', 0), ('dil_conv_3x3', 1)], "
    "normal_concat=range(2, 6), reduce=[('sep_conv_5x5', 1), ('max_pool_3x3', 0), ('sep_conv_5x5', 1), "
    "('sep_conv_5x5', 2), ('sep_conv_3x3', 0), ('sep_conv_3x3', 3), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2)], "
    "reduce_concat=range(2, 6))",
    "https://github.com/yuhuixu1993/PC-DARTS/blob/master/genotypes.py (PC_DARTS_cifar)",
    "Xu et al. PC-DARTS: Partial Channel Connections for Memory-Efficient Architecture Search. ICLR 2020 "
    "(arXiv:1907.05737)",
)
_add(
    "DrNAS",
    "Genotype(normal=[('sep_conv_3x3', 0), ('sep_conv_5x5', 1), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), "
    "('skip_connect', 0), ('sep_conv_3x3', 1), ('sep_conv_3x3', 2), ('dil_conv_5x5', 3)], "
    "normal_concat=range(2, 6), reduce=[('max_pool_3x3', 0), ('sep_conv_5x5', 1), ('dil_conv_5x5', 2), "
    "('sep_conv_5x5', 1), ('sep_conv_5x5', 1), ('dil_conv_5x5', 3), ('skip_connect', 4), ('sep_conv_5x5', 1)], "
    "reduce_concat=range(2, 6))",
    "https://github.com/xiangning-chen/DrNAS/blob/master/DARTS-space/genotypes.py (DrNAS_cifar10)",
    "Chen et al. DrNAS: Dirichlet Neural Architecture Search. ICLR 2021 (arXiv:2006.10355)",
)


def published_genotype(name: str) -> DartsGenotype:
    """The published genotype ``name`` (unknown names list the registered ones)."""
    return PUBLISHED[name].genotype


__all__ = ["PUBLISHED", "PublishedGenotype", "published_genotype"]
