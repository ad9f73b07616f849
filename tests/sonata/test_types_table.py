"""Types tables: every dialect found in practice is read, the strict one is written."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bmtoolkit.exceptions import MissingFileError, SonataFormatError
from bmtoolkit.sonata.types_table import read_types_csv, read_types_table, write_types_csv


def _write_bytes(path, text: str):
    path.write_bytes(text.encode("utf-8"))
    return path


def test_reads_crlf_runs_of_spaces_quotes_and_null_none(tmp_path):
    path = _write_bytes(
        tmp_path / "t.csv",
        'node_type_id   model_type  "pop name" weight\r\n'
        '100 biophysical "a b" 1.5\r\n'
        '101   NULL   "say ""hi""" NONE\r\n'
        "\r\n",
    )
    df = read_types_csv(path)
    assert list(df.columns) == ["node_type_id", "model_type", "pop name", "weight"]
    assert df["node_type_id"].dtype == np.int64
    assert df["node_type_id"].tolist() == [100, 101]
    assert df["model_type"].iloc[0] == "biophysical"
    assert pd.isna(df["model_type"].iloc[1])
    assert df["pop name"].tolist() == ["a b", 'say "hi"']
    assert df["weight"].iloc[0] == 1.5
    assert np.isnan(df["weight"].iloc[1])


def test_write_is_strict_dialect(tmp_path):
    df = pd.DataFrame(
        {
            "edge_type_id": np.array([1, 2], dtype=np.int64),
            "model_template": ["static synapse", None],
            "delay": [2.0, np.nan],
        }
    )
    path = tmp_path / "edge_types.csv"
    write_types_csv(df, path)
    raw = path.read_bytes()
    assert b"\r" not in raw
    assert raw == b'edge_type_id model_template delay\n1 "static synapse" 2.0\n2 NULL NULL\n'
    back = read_types_csv(path)
    assert back["edge_type_id"].tolist() == [1, 2]
    assert back["model_template"].iloc[0] == "static synapse"
    assert pd.isna(back["model_template"].iloc[1]) and np.isnan(back["delay"].iloc[1])


def test_write_named_index_becomes_first_column(tmp_path):
    df = pd.DataFrame({"model_type": ["virtual"]}, index=pd.Index([7], name="node_type_id"))
    path = tmp_path / "n.csv"
    write_types_csv(df, path)
    assert path.read_text() == "node_type_id model_type\n7 virtual\n"


def test_float_precision_survives(tmp_path):
    values = [0.1 + 0.2, 1e-300, -3.646878266]
    df = pd.DataFrame({"node_type_id": [1, 2, 3], "v": values})
    write_types_csv(df, tmp_path / "n.csv")
    assert read_types_csv(tmp_path / "n.csv")["v"].tolist() == values


def test_missing_file(tmp_path):
    with pytest.raises(MissingFileError, match="nope.csv"):
        read_types_csv(tmp_path / "nope.csv")


def test_bad_ids_name_file_and_column(tmp_path):
    path = _write_bytes(tmp_path / "t.csv", "node_type_id a\nx 1\n")
    with pytest.raises(SonataFormatError, match=r"t\.csv: node_type_id"):
        read_types_csv(path)
    path = _write_bytes(tmp_path / "d.csv", "node_type_id a\n1 1\n1 2\n")
    with pytest.raises(SonataFormatError, match="duplicate"):
        read_types_csv(path)
    with pytest.raises(SonataFormatError, match="edge_type_id"):
        read_types_csv(path, id_column="edge_type_id")


def test_ragged_rows_are_rejected(tmp_path):
    path = _write_bytes(tmp_path / "r.csv", "node_type_id a\n1 2 3 4\n")
    with pytest.raises(SonataFormatError, match=r"r\.csv"):
        read_types_csv(path)


class _Unprintable:
    def __str__(self) -> str:
        raise RuntimeError("cannot format")


def test_failed_write_keeps_previous_file(tmp_path):
    path = tmp_path / "types.csv"
    write_types_csv(pd.DataFrame({"node_type_id": [1]}), path)
    before = path.read_bytes()
    bad = pd.DataFrame({"node_type_id": [1, 2], "x": ["ok", _Unprintable()]})
    with pytest.raises(RuntimeError, match="cannot format"):
        write_types_csv(bad, path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["types.csv"]
    with pytest.raises(SonataFormatError, match="bad name"):
        write_types_csv(pd.DataFrame({"bad name": [1]}), tmp_path / "other.csv")
    assert not (tmp_path / "other.csv").exists()


_WORDS = st.text(alphabet='abcXYZ _"', min_size=1, max_size=8).filter(
    lambda s: s.strip(" ") and s.strip() not in {"NULL", "NONE"} and s == s.strip()
)


@settings(max_examples=60, deadline=None)
@given(
    ids=st.lists(st.integers(-(2**40), 2**40), min_size=1, max_size=8, unique=True),
    data=st.data(),
)
def test_roundtrip_property(tmp_path_factory, ids, data):
    n = len(ids)
    floats = data.draw(
        st.lists(st.floats(allow_nan=True, allow_infinity=False), min_size=n, max_size=n)
    )
    words = data.draw(st.lists(st.one_of(st.none(), _WORDS), min_size=n, max_size=n))
    df = pd.DataFrame({"edge_type_id": ids, "w": floats, "name": words})
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    write_types_csv(df, path)
    back = read_types_csv(path)
    assert back["edge_type_id"].tolist() == ids
    np.testing.assert_array_equal(back["w"].to_numpy(dtype=float), np.asarray(floats, float))
    got = [None if pd.isna(v) else v for v in back["name"].tolist()]
    assert got == words


_TOKENS = st.sampled_from(
    ["0", "7", "-12", "+3", "1.5", "-2e-3", ".5", "5.", "1E5", "inf", "-inf", "NULL", "NONE",
     "NaN", "True", "false", "TRUE", "biophysical", "nml:Cell_1.cell.nml", '"a b"', '"7"',
     "9223372036854775807", "x1", "1_000", "0x10"]
)  # fmt: skip


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return type(a) is type(b) and a == b or (pd.isna(a) and pd.isna(b))


@settings(max_examples=150, deadline=None)
@given(
    columns=st.integers(1, 4),
    rows=st.integers(1, 5),
    data=st.data(),
)
def test_inference_matches_pandas_read_csv(tmp_path_factory, columns, rows, data):
    """The numpy reader infers the same values and kinds as pandas' whitespace reader."""
    names = [f"c{j}" for j in range(columns)]
    body = [[data.draw(_TOKENS) for _ in names] for _ in range(rows)]
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_text("\n".join(" ".join(r) for r in [names, *body]) + "\n")
    ours = read_types_csv(path)
    theirs = pd.read_csv(
        path, sep=r"\s+", index_col=False, na_values=["NULL", "NONE", "NaN", "nan"],
        keep_default_na=False, quotechar='"',
    )  # fmt: skip
    for name in names:
        a, b = ours[name], theirs[name]
        if b.dtype.kind in "biuf":
            assert a.dtype.kind == b.dtype.kind, (name, a.dtype, b.dtype, body)
        else:
            assert a.dtype.kind not in "biuf", (name, a.dtype, body)
        assert all(_same(x, y) for x, y in zip(a.tolist(), b.tolist(), strict=True)), (a, b)


def test_quotes_must_be_balanced_and_separated(tmp_path):
    path = _write_bytes(tmp_path / "q.csv", 'node_type_id name\n1 "open\n')
    with pytest.raises(SonataFormatError, match=r"q\.csv.*unbalanced quote"):
        read_types_csv(path)
    path = _write_bytes(tmp_path / "g.csv", 'node_type_id name\n1 ab"c"\n')
    with pytest.raises(SonataFormatError, match=r"g\.csv.*quote inside a field"):
        read_types_csv(path)


def test_byte_order_mark_and_quoted_newline(tmp_path):
    path = tmp_path / "b.csv"
    path.write_bytes('\ufeffnode_type_id name\n1 "two\nlines"\n'.encode())
    table = read_types_table(path)
    assert table.columns == ["node_type_id", "name"]
    assert table.data["name"].tolist() == ["two\nlines"]


def test_types_table_positions_and_frame(tmp_path):
    path = _write_bytes(tmp_path / "t.csv", "node_type_id ei\n105 e\n101 i\n")
    table = read_types_table(path)
    assert table.id_column == "node_type_id" and table.properties == ["ei"]
    assert table.positions(np.array([101, 105, 999])).tolist() == [1, 0, -1]
    frame = table.to_frame(index=True)
    assert frame.index.name == "node_type_id" and frame.loc[101, "ei"] == "i"


def test_every_conformance_types_table_reads_as_pandas_reads_it(sonata_examples):
    paths = sorted(sonata_examples.parent.rglob("*types*.csv"))
    assert len(paths) >= 10
    for path in paths:
        ours = read_types_csv(path)
        words = [line.split() for line in path.read_text().splitlines() if line.strip()]
        # a table with empty fields (two spaces, a trailing space) reads as BMTK reads it
        sep = r"\s+" if len({len(w) for w in words}) == 1 else " "
        theirs = pd.read_csv(
            path, sep=sep, index_col=False, na_values=["NULL", "NONE", "NaN", "nan", ""],
            keep_default_na=False, quotechar='"',
        )  # fmt: skip
        assert list(ours.columns) == list(theirs.columns), path
        for name in theirs.columns:
            a, b = ours[name], theirs[name]
            assert (a.dtype.kind in "biuf") == (b.dtype.kind in "biuf"), (path, name)
            pairs = zip(a.tolist(), b.tolist(), strict=True)
            assert all(_same(x, y) for x, y in pairs), (path, name)


def test_empty_fields_between_single_spaces_read_as_missing(tmp_path):
    """BMTK's reader (one space as separator) accepts empty fields; so do we."""
    path = tmp_path / "lgn_node_types.csv"
    path.write_bytes(
        b"node_type_id dynamics_params sf_sep model_template ei extra\r\n"
        b"100 a.json  lgnmodel:tOFF e \r\n"
        b"101 b.json 6.0 lgnmodel:sON e c.json\r\n"
    )
    table = read_types_csv(path)
    assert table["node_type_id"].tolist() == [100, 101]
    assert table["model_template"].tolist() == ["lgnmodel:tOFF", "lgnmodel:sON"]
    assert np.isnan(table["sf_sep"].iloc[0]) and table["sf_sep"].iloc[1] == 6.0
    assert table["extra"].iloc[1] == "c.json" and pd.isna(table["extra"].iloc[0])
