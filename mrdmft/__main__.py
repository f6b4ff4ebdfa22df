"""``python -m mrdmft`` runs the command line (see :mod:`mrdmft.cli`)."""

from mrdmft.cli import main

raise SystemExit(main())
