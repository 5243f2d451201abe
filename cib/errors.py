"""The exception hierarchy of cib.

Every error that a user can cause (bad input, bad parameters) is a :class:`CibError`.
The command line turns these into a one-line message and exit status 2; anything
else is a bug and keeps its traceback.
"""

from __future__ import annotations

__all__ = ["CibError", "InputError", "ParameterError", "OutputError"]


class CibError(Exception):
    """Base class of all errors a user can cause and fix."""


class InputError(CibError, ValueError):
    """An input file cannot be used.

    Parameters
    ----------
    message : str
        What is wrong, in words a user understands.
    file : str, optional
        The input file.
    row : int, optional
        The row (1-based; in a CSV with a header the header is row 1, as a spreadsheet shows it;
        in JSON lines the line number).
    column : str, optional
        The column or field.

    Examples
    --------
    >>> str(InputError("missing required columns: account_id", file="x.csv"))
    'x.csv: missing required columns: account_id'
    >>> str(InputError("cannot parse 'yesterday'", file="x.csv", row=7, column="timestamp"))
    "x.csv, row 7, column 'timestamp': cannot parse 'yesterday'"
    """

    def __init__(self, message: str, *, file: str | None = None, row: int | None = None,
                 column: str | None = None) -> None:
        self.message = message
        self.file = file
        self.row = row
        self.column = column
        super().__init__(str(self))

    def __str__(self) -> str:
        where = []
        if self.file is not None:
            where.append(str(self.file))
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column is not None:
            where.append(f"column {self.column!r}")
        return (", ".join(where) + ": " + self.message) if where else self.message


class ParameterError(CibError, ValueError):
    """A parameter is out of its allowed range or of the wrong type.

    Examples
    --------
    >>> str(ParameterError("window", "detect", "a duration >= 0 (90, '90s', '5m', '1h')", "-1s"))
    "The 'window' parameter of detect must be a duration >= 0 (90, '90s', '5m', '1h'). Got '-1s' instead."
    """

    def __init__(self, name: str, caller: str, allowed: str, got: object) -> None:
        self.name = name
        self.caller = caller
        self.allowed = allowed
        self.got = got
        super().__init__(
            f"The {name!r} parameter of {caller} must be {allowed}. Got {got!r} instead."
        )


class OutputError(CibError, OSError):
    """An output folder or file cannot be written."""
