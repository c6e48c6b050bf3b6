"""balenas: reproducibility pipeline for BaLeNAS (Bayesian learning rule NAS)."""

__version__ = "0.1.0"
