"""Node types and edge types tables (the space-separated ``*_types.csv`` files).

Readers accept every dialect found in practice: CRLF or LF line endings, runs of spaces or
tabs between fields, double-quoted fields (``""`` escapes a quote) and ``NULL``/``NONE`` for
missing values. The writer produces the strict dialect: one space between fields, LF line
endings, quotes only where a field contains a space or a quote, ``NULL`` for missing values.

Examples
--------
>>> import os, tempfile
>>> import pandas as pd
>>> from bmtoolkit.sonata.types_table import read_types_csv, write_types_csv
>>> path = os.path.join(tempfile.mkdtemp(), "node_types.csv")
>>> write_types_csv(pd.DataFrame({"node_type_id": [100, 101],
...                               "model_type": ["point_process", None]}), path)
>>> print(open(path).read(), end="")
node_type_id model_type
100 point_process
101 NULL
>>> read_types_csv(path)["node_type_id"].tolist()
[100, 101]
"""

from __future__ import annotations

import csv
import math
import os
import re
import sys
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from bmtoolkit.exceptions import MissingFileError, SonataFormatError
from bmtoolkit.sonata._h5 import atomic_text

if TYPE_CHECKING:  # pandas is imported only where a DataFrame is asked for
    import pandas as pd

__all__ = [
    "TypesTable",
    "read_types_csv",
    "read_types_table",
    "write_types_csv",
    "write_types_rows",
]

#: tokens read as missing values
NA_TOKENS = ("NULL", "NONE", "NaN", "nan")
#: token written for missing values
NA_WRITE = "NULL"
#: id columns recognised automatically, in order of preference
ID_COLUMNS = ("node_type_id", "edge_type_id")

# one field: a double-quoted string ("" escapes a quote) or a run of other characters;
# a newline ends a row; anything else (a stray quote) is an error
_TOKEN = re.compile(r'"((?:[^"]|"")*)"|([^\s"]+)|(\n)|([^\S\n]+)|(.)', re.DOTALL)
_INT = re.compile(r"[+-]?[0-9]+")
_FLOAT = re.compile(
    r"[+-]?(?:(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?|inf(?:inity)?)", re.I
)
_BOOL = {"True": True, "TRUE": True, "true": True, "False": False, "FALSE": False, "false": False}


@dataclass(frozen=True)
class TypesTable:
    """A types table as numpy columns, in file order (the id column included).

    The readers of populations use it directly; :meth:`to_frame` gives a DataFrame.

    Attributes
    ----------
    data : Mapping[str, numpy.ndarray]
        One array per column: int64, float64 (NaN for missing), bool, or object (strings,
        NaN for missing).
    id_column : str or None
        The type id column (int64, unique), if the table has one.
    path : Path or None
        The file it was read from.

    Examples
    --------
    >>> import numpy as np
    >>> t = TypesTable({"node_type_id": np.array([7, 3]), "ei": np.array(["e", "i"], object)},
    ...                "node_type_id")
    >>> t.positions(np.array([3, 3, 9])).tolist()
    [1, 1, -1]
    >>> t.properties
    ['ei']
    """

    data: Mapping[str, np.ndarray]
    id_column: str | None = None
    path: Path | None = None

    @classmethod
    def empty(cls, id_column: str) -> TypesTable:
        """A table without rows holding only ``id_column``."""
        return cls({id_column: np.zeros(0, dtype=np.int64)}, id_column)

    @property
    def columns(self) -> list[str]:
        """All column names, in file order."""
        return list(self.data)

    @property
    def properties(self) -> list[str]:
        """Column names other than the id column."""
        return [c for c in self.data if c != self.id_column]

    @property
    def ids(self) -> np.ndarray:
        """The type ids (int64)."""
        if self.id_column is None:
            raise SonataFormatError("the types table has no id column", path=self.path)
        return self.data[self.id_column]

    def __len__(self) -> int:
        return len(next(iter(self.data.values()))) if self.data else 0

    def select(self, mask: np.ndarray) -> TypesTable:
        """The rows where ``mask`` is true."""
        return TypesTable({k: v[mask] for k, v in self.data.items()}, self.id_column, self.path)

    def positions(self, type_ids: np.ndarray) -> np.ndarray:
        """Row of each of ``type_ids`` (-1 where the table lacks it)."""
        ids = self.ids
        type_ids = np.asarray(type_ids)
        if ids.size == 0:
            return np.full(type_ids.shape, -1, dtype=np.int64)
        order = np.argsort(ids, kind="stable")
        where = np.searchsorted(ids[order], type_ids).clip(0, ids.size - 1)
        rows = order[where]
        return np.where(ids[rows] == type_ids, rows, -1).astype(np.int64, copy=False)

    def to_frame(self, *, index: bool = False) -> pd.DataFrame:
        """The table as a DataFrame, indexed by the id column if ``index``."""
        import pandas as pd

        df = pd.DataFrame(dict(self.data), columns=self.columns)
        if index and self.id_column is not None:
            df = df.set_index(self.id_column)
        return df


def _tokenize(text: str, path: Path) -> list[list[str]]:
    rows: list[list[str]] = []
    row: list[str] = []
    glued = False  # the previous token ended right here, with no separator
    for m in _TOKEN.finditer(text):
        quoted, plain, newline, space, stray = m.groups()
        if stray is not None:
            raise SonataFormatError(
                f"cannot parse the types table (space separated, optional quotes): "
                f"unbalanced quote in row {len(rows) + 1}",
                path=path,
            )
        if newline is not None or space is not None:
            glued = False
            if newline is not None and row:
                rows.append(row)
                row = []
            continue
        if glued:
            raise SonataFormatError(
                "cannot parse the types table (space separated, optional quotes): a quote "
                f"inside a field in row {len(rows) + 1}",
                path=path,
            )
        row.append(quoted.replace('""', '"') if quoted is not None else plain)
        glued = True
    if row:
        rows.append(row)
    return rows


def _single_space_rows(text: str, width: int) -> list[list[str]] | None:
    """Rows read with one space as the separator, where two spaces enclose an empty field.

    BMTK writes (and reads) types tables this way, so a table with empty fields, such as
    ``"a  b"`` or a trailing space, is valid there. Empty fields become missing (``NULL``).
    Returns None unless every row then has ``width`` fields.
    """
    import csv

    lines = [line for line in text.splitlines() if line.strip()]
    rows = [
        [field if field else NA_WRITE for field in row]
        for row in csv.reader(lines, delimiter=" ", quotechar='"')
    ]
    if rows:
        rows[0] = [c for c in rows[0] if c != NA_WRITE] if rows[0][-1] == NA_WRITE else rows[0]
    if not rows or any(len(row) != width for row in rows):
        return None
    return rows


def _infer(tokens: list[str]) -> np.ndarray:
    """One column's tokens as the narrowest of bool, int64, float64 or object."""
    missing = [t in NA_TOKENS for t in tokens]
    present = [t for t, na in zip(tokens, missing, strict=True) if not na]
    if not present:
        return np.full(len(tokens), np.nan)
    if all(t in _BOOL for t in present):
        if not any(missing):
            return np.array([_BOOL[t] for t in tokens], dtype=bool)
        out = np.empty(len(tokens), dtype=object)  # booleans with gaps
        out[:] = [np.nan if na else _BOOL[t] for t, na in zip(tokens, missing, strict=True)]
        return out
    if all(_INT.fullmatch(t) for t in present):
        values = [int(t) for t in present]
        if not any(missing):
            for dtype in (np.int64, np.uint64):
                info = np.iinfo(dtype)
                if all(info.min <= v <= info.max for v in values):
                    return np.array(values, dtype=dtype)
        else:  # integers with gaps become floats, as in every CSV reader
            out = np.full(len(tokens), np.nan)
            out[~np.asarray(missing)] = values
            return out
    elif all(_FLOAT.fullmatch(t) for t in present):
        return np.array([np.nan if na else float(t) for t, na in zip(tokens, missing, strict=True)])
    out = np.empty(len(tokens), dtype=object)
    out[:] = [np.nan if na else t for t, na in zip(tokens, missing, strict=True)]
    return out


def _check_ids(data: dict[str, np.ndarray], id_column: str, p: Path) -> None:
    ids = data[id_column]
    if ids.dtype.kind == "f" and np.all(np.isfinite(ids)) and np.all(ids == np.floor(ids)):
        ids = ids.astype(np.int64)
    if ids.dtype.kind not in "iu" or (ids.dtype.kind == "u" and ids.max() > 2**63 - 1):
        kind = ids.dtype.kind
        bad = [v for v in ids.tolist() if kind not in "iuf" or not float(v).is_integer()]
        raise SonataFormatError(
            f"expected integer type ids, found {bad[:5]}", path=p, field=id_column
        )
    data[id_column] = ids.astype(np.int64, copy=False)
    # a ``population`` column lets one table serve several populations with the same ids
    key_cols = [data[c] for c in ("population", id_column) if c in data]
    counts = Counter(zip(*(c.tolist() for c in key_cols), strict=True))
    dup = sorted({key[-1] for key, n in counts.items() if n > 1})
    if dup:
        raise SonataFormatError(f"duplicate type ids {dup[:5]}", path=p, field=id_column)


def read_types_table(path: str | os.PathLike[str], *, id_column: str | None = None) -> TypesTable:
    """Read a node types or edge types table into numpy columns (no pandas needed).

    Parameters
    ----------
    path : path-like
        The CSV file.
    id_column : str, optional
        Name of the id column, converted to int64 and checked for duplicates. By default
        ``node_type_id`` or ``edge_type_id``, whichever the file has (none is required).

    Returns
    -------
    TypesTable
        Columns in file order; a column whose fields all read as integers is int64 (float64
        if some are missing), as numbers float64, as ``True``/``False`` bool, otherwise
        object holding the strings. ``NULL``, ``NONE`` and ``NaN`` are missing (NaN).

    Raises
    ------
    MissingFileError
        The file does not exist.
    SonataFormatError
        A row has the wrong number of fields, a quote is unbalanced, or the id column is
        missing, not integer or has duplicates.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "w").write('node_type_id model_name\\n100 "PV 1"\\n101 NULL\\n')
    >>> t = read_types_table(p)
    >>> t.ids.tolist(), t.data["model_name"].tolist()
    ([100, 101], ['PV 1', nan])
    """
    p = Path(path)
    if not p.is_file():
        raise MissingFileError("types table does not exist", path=p)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        raise SonataFormatError(f"cannot parse the types table: {err}", path=p) from None
    rows = _tokenize(text, p)
    if not rows:
        raise SonataFormatError("cannot parse the types table: the file is empty", path=p)
    header = [c.strip() for c in rows[0]]
    if any(len(row) != len(header) for row in rows[1:]):
        rows = _single_space_rows(text, len(header)) or rows
    for i, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise SonataFormatError(
                f"cannot parse the types table (space separated, optional quotes): row {i} "
                f"has {len(row)} fields, the header has {len(header)}",
                path=p,
            )
    if len(set(header)) != len(header):
        raise SonataFormatError(f"repeated column names in {header}", path=p)
    body = rows[1:]
    data = {name: _infer([r[j] for r in body]) for j, name in enumerate(header)}
    if id_column is None:
        id_column = next((c for c in ID_COLUMNS if c in data), None)
        if id_column is None:
            return TypesTable(data, None, p)
    if id_column not in data:
        raise SonataFormatError(
            f"missing id column (columns are {header})", path=p, field=id_column
        )
    _check_ids(data, id_column, p)
    return TypesTable(data, id_column, p)


def read_types_csv(path: str | os.PathLike[str], *, id_column: str | None = None) -> pd.DataFrame:
    """Read a node types or edge types table.

    Parameters
    ----------
    path : path-like
        The CSV file.
    id_column : str, optional
        Name of the id column, converted to int64 and checked for duplicates. By default
        ``node_type_id`` or ``edge_type_id``, whichever the file has (none is required).

    Returns
    -------
    pandas.DataFrame
        One row per type, columns in file order; numeric columns are numeric, ``NULL`` and
        ``NONE`` become NaN (see :func:`read_types_table` for the rules).

    Raises
    ------
    MissingFileError
        The file does not exist.
    SonataFormatError
        A row has the wrong number of fields, the id column is missing, not integer or has
        duplicates.

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "t.csv")
    >>> _ = open(p, "w", newline="").write('edge_type_id  syn_weight\\r\\n7 "NULL"\\r\\n8 2.5\\r\\n')
    >>> read_types_csv(p)
       edge_type_id  syn_weight
    0             7         NaN
    1             8         2.5
    """
    return read_types_table(path, id_column=id_column).to_frame()


def _format_value(value: object) -> str:
    pd = sys.modules.get("pandas")  # pandas.NA can only come from a loaded pandas
    if value is None or (pd is not None and value is pd.NA):
        return NA_WRITE
    if isinstance(value, float | np.floating):
        if math.isnan(value):
            return NA_WRITE
        return repr(float(value))
    if isinstance(value, np.integer | np.bool_):
        return str(value.item())
    if isinstance(value, list | tuple | np.ndarray):
        return " ".join(_format_value(v) for v in value)
    text = str(value)
    return text if text else NA_WRITE


def write_types_csv(df: pd.DataFrame, path: str | os.PathLike[str]) -> None:
    """Write a types table in the strict dialect (single space, LF, ``NULL`` for missing).

    A named index (for example ``node_type_id`` from :attr:`NodePopulation.types`) is written
    as the first column. The file appears atomically.

    Parameters
    ----------
    df : pandas.DataFrame
        One row per type.
    path : path-like
        Destination.

    Examples
    --------
    >>> import os, tempfile
    >>> import pandas as pd
    >>> p = os.path.join(tempfile.mkdtemp(), "edge_types.csv")
    >>> write_types_csv(pd.DataFrame({"edge_type_id": [1], "model_template": ["static synapse"]}), p)
    >>> open(p).read()
    'edge_type_id model_template\\n1 "static synapse"\\n'
    """
    if df.index.name is not None and df.index.name not in df.columns:
        df = df.reset_index()
    write_types_rows(list(df.columns), df.itertuples(index=False, name=None), path)


def write_types_rows(
    columns: Sequence[object], rows: Iterable[Sequence[object]], path: str | os.PathLike[str]
) -> None:
    """Write a types table given as column names and rows (no pandas needed).

    Same dialect, checks and atomic replacement as :func:`write_types_csv`; values are
    written as they are (missing: ``None`` or NaN).

    Examples
    --------
    >>> import os, tempfile
    >>> p = os.path.join(tempfile.mkdtemp(), "edge_types.csv")
    >>> write_types_rows(["edge_type_id", "delay"], [(1, 2.0), (2, None)], p)
    >>> open(p).read()
    'edge_type_id delay\\n1 2.0\\n2 NULL\\n'
    """
    names = [str(c) for c in columns]
    for name in names:
        if not name or any(ch.isspace() for ch in name):
            raise SonataFormatError(
                "column names must be non-empty and contain no spaces", path=path, field=name
            )
    with atomic_text(path, newline="") as fh:
        writer = csv.writer(
            fh, delimiter=" ", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n"
        )
        writer.writerow(names)
        for row in rows:
            writer.writerow([_format_value(v) for v in row])
