"""mrdmft.theory — the symbolic layer: model specs, sympy derivations, closed forms."""
