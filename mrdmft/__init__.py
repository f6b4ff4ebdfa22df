"""mrdmft: mean-field theory workbench for multiregion recurrent neural networks."""

__version__ = "0.1.0"
