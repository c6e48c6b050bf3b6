"""Architecture distributions: how architecture parameters become mixing weights."""

from balenas.archdist.base import ArchDistribution, WeightFn, flatten, row_softmax, unflatten
from balenas.archdist.gaussian import GaussianArch
from balenas.archdist.softmax import SoftmaxArch

__all__ = ["ArchDistribution", "GaussianArch", "SoftmaxArch", "WeightFn", "flatten", "row_softmax", "unflatten"]
