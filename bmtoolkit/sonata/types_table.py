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
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from bmtoolkit.exceptions import MissingFileError, SonataFormatError
from bmtoolkit.sonata._h5 import atomic_text

#: tokens read as missing values
NA_TOKENS = ("NULL", "NONE", "NaN", "nan")
#: token written for missing values
NA_WRITE = "NULL"
#: id columns recognised automatically, in order of preference
ID_COLUMNS = ("node_type_id", "edge_type_id")


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
        ``NONE`` become NaN.

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
    p = Path(path)
    if not p.is_file():
        raise MissingFileError("types table does not exist", path=p)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", pd.errors.ParserWarning)
            df = pd.read_csv(
                p,
                sep=r"\s+",
                index_col=False,
                na_values=list(NA_TOKENS),
                keep_default_na=False,
                quotechar='"',
                doublequote=True,
                skip_blank_lines=True,
            )
    except (
        pd.errors.ParserError,
        pd.errors.ParserWarning,
        pd.errors.EmptyDataError,
        UnicodeDecodeError,
    ) as err:
        raise SonataFormatError(
            f"cannot parse the types table (space separated, optional quotes): {err}", path=p
        ) from None
    df.columns = [str(c).strip() for c in df.columns]
    if id_column is None:
        id_column = next((c for c in ID_COLUMNS if c in df.columns), None)
        if id_column is None:
            return df
    if id_column not in df.columns:
        raise SonataFormatError(
            f"missing id column (columns are {list(df.columns)})", path=p, field=id_column
        )
    ids = df[id_column]
    if not pd.api.types.is_integer_dtype(ids.dtype):
        numeric = pd.to_numeric(ids, errors="coerce")
        bad = numeric.isna() | (numeric != np.floor(numeric))
        if bad.any():
            raise SonataFormatError(
                f"expected integer type ids, found {ids[bad].tolist()[:5]}", path=p, field=id_column
            )
        ids = numeric
    df[id_column] = ids.astype(np.int64)
    # a ``population`` column lets one table serve several populations with the same ids
    keys = [c for c in ("population", id_column) if c in df.columns]
    dup = df.duplicated(subset=keys)
    if dup.any():
        raise SonataFormatError(
            f"duplicate type ids {sorted(set(df[id_column][dup].tolist()))[:5]}",
            path=p,
            field=id_column,
        )
    return df


def _format_value(value: object) -> str:
    if value is None or value is pd.NA:
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
    >>> p = os.path.join(tempfile.mkdtemp(), "edge_types.csv")
    >>> write_types_csv(pd.DataFrame({"edge_type_id": [1], "model_template": ["static synapse"]}), p)
    >>> open(p).read()
    'edge_type_id model_template\\n1 "static synapse"\\n'
    """
    if df.index.name is not None and df.index.name not in df.columns:
        df = df.reset_index()
    columns = [str(c) for c in df.columns]
    for name in columns:
        if not name or any(ch.isspace() for ch in name):
            raise SonataFormatError(
                "column names must be non-empty and contain no spaces", path=path, field=name
            )
    with atomic_text(path, newline="") as fh:
        writer = csv.writer(
            fh, delimiter=" ", quotechar='"', quoting=csv.QUOTE_MINIMAL, lineterminator="\n"
        )
        writer.writerow(columns)
        for row in df.itertuples(index=False, name=None):
            writer.writerow([_format_value(v) for v in row])
