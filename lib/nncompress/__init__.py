"""nncompress: exact (lossless) compression and degeneracy of neural networks.

The library behind the book: one module per paper's idea (see the book's chapters). Import the submodules,
e.g. ``from nncompress.tanh import TanhNetwork, compress, rank``.
"""

__version__ = "0.1.0"
