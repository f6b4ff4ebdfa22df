"""Input errors shared by every layer of mrdmft.

Every problem with user input is raised as :class:`ModelInputError`, which carries
the offending *field*, what is wrong with it and how to fix it. The CLI prints it as
one line, ``error: <field>: <problem> (<fix>)``, and exits with status 2.
"""

from __future__ import annotations


class ModelInputError(ValueError):
    """Bad user input, named by field, with a suggested fix.

    Parameters
    ----------
    field : str
        Dotted name of the offending input (``"g"``, ``"T"``, ``"parameters.b"``,
        ``"--dt"``, a file path, ...).
    problem : str
        What is wrong, in a few words.
    fix : str
        How to fix it, in a few words.
    """

    def __init__(self, field: str, problem: str, fix: str) -> None:
        self.field = field
        self.problem = problem
        self.fix = fix
        super().__init__(f"{field}: {problem} ({fix})")

    def one_line(self) -> str:
        """Return the CLI form ``error: <field>: <problem> (<fix>)`` on one line."""
        return "error: " + " ".join(str(self).split())
