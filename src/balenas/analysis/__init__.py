"""Analyses of a search: Hessian eigenvalues of the validation loss w.r.t. architecture parameters."""

from balenas.analysis.hessian import (
    HessianSpectrum,
    architecture_hessian,
    dominant_eigenvalue,
    hessian_spectrum,
    validation_hessian_spectrum,
    validation_loss_hessian,
)

__all__ = [
    "HessianSpectrum",
    "architecture_hessian",
    "dominant_eigenvalue",
    "hessian_spectrum",
    "validation_hessian_spectrum",
    "validation_loss_hessian",
]
