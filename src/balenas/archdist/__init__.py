"""Architecture distributions: how architecture parameters become mixing weights."""

from balenas.archdist.base import ArchDistribution
from balenas.archdist.gaussian import GaussianArch
from balenas.archdist.softmax import SoftmaxArch

__all__ = ["ArchDistribution", "GaussianArch", "SoftmaxArch"]
