"""Fast paths of the dataset writer give the bytes and values of the general ones."""

from __future__ import annotations

import json
import os

import numpy as np
import pyarrow as pa

import twinforge.export.parquet as P


def _plain(manifest) -> bytes:
    return (json.dumps(manifest, sort_keys=True, indent=1, default=P._json_default) + "\n").encode()


def test_manifest_bytes_splices_cached_entries(monkeypatch):
    runs = [{"twin": "home", "run_id": k, "files": [f"a/{k}", "b\n\"[{"], "size": {"x": k}, "e": [], "d": {},
             "u": "é\u2028\x00", "f": 0.1 * k, "n": None} for k in range(30)]
    manifest = {"format": "twinforge-dataset", "runs": runs, "dataset": {"q": [1, {"r": P._RUNS_MARK}]}}
    assert P._manifest_bytes(manifest) == _plain(manifest)  # the mark in the data: general path
    manifest["dataset"] = {"seed": 7, "nested": {"a": [1.5, None]}}
    assert P._manifest_bytes(manifest) == _plain(manifest)
    encoded = []
    real = P._INDENTED
    monkeypatch.setattr(P, "_INDENTED", type("E", (), {"encode": lambda self, o: encoded.append(o) or real.encode(o)})())
    again = {**manifest, "runs": [dict(r) for r in runs] + [{"twin": "home", "run_id": 99}]}
    assert P._manifest_bytes(again) == _plain(again)
    assert encoded == [{"twin": "home", "run_id": 99}]  # only the new entry went through the slow encoder
    assert P._manifest_bytes({**manifest, "runs": []}) == _plain({**manifest, "runs": []})


def test_params_plain_columns_match_the_general_rules():
    rows = [{"e": 1.5, "i": 2, "b": True, "s": "x"}, {"e": None, "i": None}, {}, {"e": 2.0, "i": 3, "b": False}]
    got = P._params_array(rows, "t")
    assert got.type == pa.struct([("b", pa.bool_()), ("e", pa.float64()), ("i", pa.int64()), ("s", pa.string())])
    assert got.to_pylist() == [{"b": True, "e": 1.5, "i": 2, "s": "x"}, {"b": None, "e": None, "i": None, "s": None},
                               {"b": None, "e": None, "i": None, "s": None}, {"b": False, "e": 2.0, "i": 3, "s": None}]
    mixed = P._params_array([{"v": 1}, {"v": 2.5}, {"v": np.float64(3.0)}, {"v": None}], "t")  # general rules
    assert mixed.type == pa.struct([("v", pa.float64())]) and mixed.field("v").to_pylist() == [1.0, 2.5, 3.0, None]
    nulls = P._params_array([{"v": None}, {"v": None}], "t")  # no value at all: bool, as before
    assert nulls.type == pa.struct([("v", pa.bool_())])


def test_resume_open_leaves_an_unchanged_manifest_alone(tmp_path):
    from tests.export.test_parquet import make_dataset, write_run

    root = make_dataset(tmp_path / "d", order=(0, 1), finalize=False)
    path = root / P.MANIFEST
    before = (path.read_bytes(), os.stat(path).st_ino)
    writer = P.DatasetWriter(root, mode="resume")
    writer._prepare()  # nothing to prune: the file is not rewritten
    assert (path.read_bytes(), os.stat(path).st_ino) == before
    write_run(writer, 2)  # a commit still records its run
    assert [e["run_id"] for e in P.read_manifest(root)["runs"]] == [0, 1, 2]
