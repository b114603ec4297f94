"""``python -m nncompress``: the command line (see :mod:`nncompress.cli`)."""

import sys

from .cli import main

sys.exit(main())
