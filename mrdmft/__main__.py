"""``python -m mrdmft`` runs the command line (see :mod:`mrdmft.cli`)."""

import sys

try:
    from mrdmft.cli import main
except ModuleNotFoundError as exc:  # a source checkout that was never installed
    if not (exc.name or "").startswith("mrdmft."):
        raise
    print(
        f"error: installation: {exc.name} is missing, mrdmft is not installed "
        '(run `python3 -m pip install ".[report]"` in the checkout first; it maps theory/ and solvers/ '
        "into the package)",
        file=sys.stderr,
    )
    raise SystemExit(2) from None

raise SystemExit(main())
