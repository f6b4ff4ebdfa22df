"""mrdmft: mean-field theory workbench for multiregion recurrent neural networks.

The package is assembled from three folders of the source tree: ``mrdmft/`` (CLI and
report), ``theory/`` (``mrdmft.theory``) and ``solvers/`` (``mrdmft.solvers``).
"""

from pkgutil import extend_path

# From the root of a source checkout, `python -m ...` puts the checkout first on
# sys.path, and its `mrdmft/` folder (without `theory/` and `solvers/`) would shadow
# the installed package: let the package path also reach the installed copy.
__path__ = extend_path(__path__, __name__)

__version__ = "0.1.0"
