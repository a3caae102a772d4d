"""SmartMixed (arXiv 2510.22450) replication: per-neuron activation selection, then a fixed mix."""

__version__ = "0.1.0"
