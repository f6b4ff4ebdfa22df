"""mrdmft.solvers — the numeric layer: compiled functions and solvers."""
