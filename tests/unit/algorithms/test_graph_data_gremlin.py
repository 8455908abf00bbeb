"""Reading and rejecting Gremlin CSV (hyperjob.algorithms.graph.gremlin), on tiny inline files and the corpus."""

from __future__ import annotations

import time
import warnings
from pathlib import Path

import numpy as np
import pytest

from hyperjob.algorithms.graph.gremlin import GremlinCsvWarning, read_gremlin_csv
from hyperjob.errors import HyperjobError, SpecError
from _corpus import CORPUS_ROOT, need as corpus

GRAPHS = CORPUS_ROOT / "neptune" / "graphs"
SMALL = GRAPHS / "air-routes-small-neptune-export"


def write(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(text.encode("utf-8"))
    return tmp_path


NODES = "~id,~label,age:Int,score:Double,tags:String[],emb:Double[],ok:Bool,born:Date\n" \
        "a,person,30,0.5,x;y,1;2,true,2001-02-03\n" \
        "b,person,,1.5,y,3;4,False,2001-2-4\n" \
        "c,city,,,,,,\n"
EDGES = "~id,~from,~to,~label,w:Float\ne1,a,b,knows,0.1\ne2,a,c,lives,\ne3,b,c,lives,2\n"


def test_types_arrays_and_edge_types(tmp_path):
    g = read_gremlin_csv(write(tmp_path, {"nodes.csv": NODES, "edges.csv": EDGES}))
    assert (g.num_nodes, g.num_edges) == (3, 3)
    person = g.nodes["person"]
    assert person.ids == ["a", "b"]
    assert person.properties["age"].kind == "int" and person.properties["tags"].array
    assert person.values["age"].iloc[0] == 30 and np.isnan(person.values["age"].iloc[1])
    assert person.values["tags"].tolist() == [["x", "y"], ["y"]]
    assert person.values["emb"].tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert person.values["ok"].tolist() == [1.0, 0.0]
    assert str(person.values["born"].iloc[1].date()) == "2001-02-04"
    assert set(g.edges) == {("person", "knows", "person"), ("person", "lives", "city")}
    lives = g.edges[("person", "lives", "city")]
    assert lives.src.tolist() == [0, 1] and lives.dst.tolist() == [0, 0]
    assert np.isnan(lives.values["w"].iloc[0]) and lives.values["w"].iloc[1] == 2.0


def test_quoted_multiline_field_and_default_label(tmp_path):
    text = '~id,name:String\n"n1","first line\nsecond, with comma"\nn2,plain\n'
    g = read_gremlin_csv(write(tmp_path, {"v.csv": text}))
    assert list(g.nodes) == ["vertex"]
    assert g.nodes["vertex"].values["name"].iloc[0] == "first line\nsecond, with comma"


def test_missing_id_names_file_and_line(tmp_path):
    write(tmp_path, {"nodes.csv": "name:String,~label\nx,person\n"})
    with pytest.raises(SpecError, match=r"nodes\.csv: line 1: the node file's header has no ~id column"):
        read_gremlin_csv(tmp_path)


def test_edge_file_without_label_or_to(tmp_path):
    write(tmp_path, {"n.csv": "~id\na\n", "e.csv": "~id,~from,~to\ne1,a,a\n"})
    with pytest.raises(SpecError, match=r"e\.csv: line 1: the edge file's header has no ~label"):
        read_gremlin_csv(tmp_path)
    write(tmp_path, {"e.csv": "~id,~from,~label\ne1,a,x\n"})
    with pytest.raises(SpecError, match=r"e\.csv: line 1: .*~from but no ~to"):
        read_gremlin_csv(tmp_path)


def test_edge_to_unknown_node_names_file_line_column(tmp_path):
    write(tmp_path, {"n.csv": "~id\na\nb\n", "e.csv": "~id,~from,~to,~label\ne1,a,b,r\ne2,a,zz,r\n"})
    with pytest.raises(SpecError) as info:
        read_gremlin_csv(tmp_path)
    msg = str(info.value)
    assert "e.csv: line 3, column 3 ('~to')" in msg and "'zz'" in msg and "no node" in msg
    with pytest.warns(GremlinCsvWarning, match="skipped 1 edge"):
        g = read_gremlin_csv(tmp_path, skip_bad_rows=True)
    assert g.num_edges == 1


def test_value_not_matching_declared_type(tmp_path):
    # the bad value sits after a multi-line quoted field: the line is the file's line, not the row number
    text = '~id,desc:String,age:Int\na,"two\nlines",3\nb,x,3.5\n'
    write(tmp_path, {"n.csv": text})
    with pytest.raises(SpecError) as info:
        read_gremlin_csv(tmp_path)
    msg = str(info.value)
    assert "n.csv: line 4, column 3 ('age:Int')" in msg
    assert "'3.5' is not a whole number" in msg and "'Int'" in msg


@pytest.mark.parametrize("header,value,words", [
    ("x:Double", "abc", "not a number"),
    ("x:Bool", "yes", "not true or false"),
    ("x:Date", "31/31/2020", "not a date"),
    ("x:Int[]", "1;b;3", "'b' is not a whole number"),
])
def test_each_type_is_checked(tmp_path, header, value, words):
    write(tmp_path, {"n.csv": f"~id,{header}\na,{value}\n"})
    with pytest.raises(SpecError, match=rf"line 2, column 2 .*{words}"):
        read_gremlin_csv(tmp_path)


def test_other_rejections(tmp_path):
    cases = {
        "~id,age:Integr\na,1\n": "unknown type 'Integr'",
        "~id,a,a\nx,1,2\n": "the column 'a' appears twice",
        "~id,~weird\nx,1\n": "unknown system column '~weird'",
        "~id,name\n,bob\n": r"line 2, column 1 \('~id'\): the ~id field is empty",
        "~id,v:Int\na,1\na,2\n": r"line 3, column 1 .*'a' is declared again; it was first declared at .*line 2",
        "": "the file is empty",
    }
    for text, pattern in cases.items():
        write(tmp_path, {"n.csv": text})
        with pytest.raises(SpecError, match=pattern):
            read_gremlin_csv(tmp_path)


def test_row_with_too_many_fields(tmp_path):
    write(tmp_path, {"n.csv": "~id,name\na,x\nb,Project Siren, PS4\nc,z\n"})
    with pytest.raises(SpecError, match=r"n\.csv: line 3: the row has 3 fields but the header has 2 \(extra: "
                                         r"\['PS4'\]\); a value holding a comma must be quoted"):
        read_gremlin_csv(tmp_path)
    with pytest.warns(GremlinCsvWarning, match="skipped 1 row"):
        g = read_gremlin_csv(tmp_path, skip_bad_rows=True)
    assert g.nodes["vertex"].ids == ["a", "c"]
    # short and long rows in one file
    write(tmp_path, {"n.csv": "~id,name,age:Int\na,x,1\nb\nc,Project Siren, PS4,9\nd,z,4\n"})
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = read_gremlin_csv(tmp_path, skip_bad_rows=True)
    text = " ".join(str(w.message) for w in caught)
    assert "1 row(s) have fewer fields than the header's 3 (line(s) 3)" in text and "at line(s) 4" in text
    assert g.nodes["vertex"].ids == ["a", "b", "d"] and np.isnan(g.nodes["vertex"].values["age"].iloc[1])


def test_one_label_split_over_part_files_with_different_columns(tmp_path):
    write(tmp_path, {"nodes/p-1.csv": "~id,~label,age:Int\na,p,1\n",
                     "nodes/p-2.csv": "~id,~label,name:String\nb,p,bob\n",
                     "edges/e-1.csv": "~id,~from,~to,~label\ne,a,b,r\n"})
    g = read_gremlin_csv(tmp_path)
    p = g.nodes["p"]
    assert p.ids == ["a", "b"]
    assert p.values["age"].iloc[0] == 1 and np.isnan(p.values["age"].iloc[1])
    assert p.values["name"].tolist()[1] == "bob"


def test_conflicting_types_across_files(tmp_path):
    write(tmp_path, {"a.csv": "~id,~label,age:Int\na,p,1\n", "b.csv": "~id,~label,age:String\nb,p,x\n"})
    with pytest.raises(SpecError, match=r"b\.csv: line 1, column 3 .*'age' of nodes labelled 'p' is declared string"):
        read_gremlin_csv(tmp_path)


def test_typed_and_untyped_parts_of_one_label(tmp_path):
    write(tmp_path, {"a.csv": "~id,~label,age:Int\na,p,1\n", "b.csv": "~id,~label,age\nb,p,2\n"})
    assert read_gremlin_csv(tmp_path).nodes["p"].values["age"].tolist() == [1.0, 2.0]
    write(tmp_path, {"b.csv": "~id,~label,age\nb,p,2\nc,p,two\n"})
    with pytest.raises(SpecError, match=r"b\.csv: line 3, column 3 \('age'\): the value 'two' is not a whole number"):
        read_gremlin_csv(tmp_path)


def test_duplicate_edge_id(tmp_path):
    write(tmp_path, {"n.csv": "~id\na\nb\n", "e1.csv": "~id,~from,~to,~label\ne1,a,b,r\n",
                     "e2.csv": "~id,~from,~to,~label\ne2,b,a,r\ne1,b,b,r\n"})
    with pytest.raises(SpecError, match=r"e2\.csv: line 3, column 1 \('~id'\): the edge ~id 'e1' is declared again; "
                                        r"it was first declared at .*e1\.csv, line 2"):
        read_gremlin_csv(tmp_path)


def test_errors_are_hyperjob_errors(tmp_path):
    with pytest.raises(HyperjobError, match="does not exist"):
        read_gremlin_csv(tmp_path / "missing")


# ------------------------------------------------------------------------------------------------ the corpus


@pytest.mark.parametrize("style", ["typed-plain", "typed-with-fromLabels", "ml-profile-untyped"])
def test_air_routes_small_three_header_styles(style):
    g = read_gremlin_csv(corpus(SMALL / style))
    assert {k: len(v) for k, v in g.nodes.items()} == {"airport": 46, "version": 1}
    assert list(g.edges) == [("airport", "route", "airport")] and g.num_edges == 1326
    airport = g.nodes["airport"]
    assert airport.properties["elev"].kind == "int" and airport.properties["lat"].kind == "float"
    assert airport.properties["elev"].declared is (style != "ml-profile-untyped")
    assert airport.values["runways"].between(1, 8).all()
    version = g.nodes["version"]
    assert "\n" in version.values["desc"].iloc[0]  # the quoted multi-line field
    edges = g.edges[("airport", "route", "airport")]
    assert edges.values["dist"].notna().all()


def test_three_header_styles_agree():
    graphs = [read_gremlin_csv(corpus(SMALL / s)) for s in ("typed-plain", "typed-with-fromLabels",
                                                            "ml-profile-untyped")]
    routes = [{(g.nodes["airport"].ids[s], g.nodes["airport"].ids[d])
               for s, d in zip(g.edges[("airport", "route", "airport")].src,
                               g.edges[("airport", "route", "airport")].dst)} for g in graphs]
    assert routes[0] == routes[1] == routes[2]
    elev = [dict(zip(g.nodes["airport"].ids, g.nodes["airport"].values["elev"])) for g in graphs]
    assert elev[0] == elev[1] == elev[2]


def test_air_routes_loads_fast():
    start = time.perf_counter()
    g = read_gremlin_csv(corpus(GRAPHS / "air-routes"))
    elapsed = time.perf_counter() - start
    assert (g.num_nodes, g.num_edges) == (3749, 57645)
    assert {k: len(v) for k, v in g.nodes.items()} == {"version": 1, "airport": 3504, "country": 237,
                                                         "continent": 7}
    assert len(g.edges[("airport", "route", "airport")]) == 50637
    assert len(g.edges[("country", "contains", "airport")]) == 3504
    assert elapsed < 5, f"reading air-routes took {elapsed:.1f} s"


def test_messy_graph_is_read_with_documented_lenience():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        g = read_gremlin_csv(corpus(GRAPHS / "collaborative-filtering-games"))
    text = "\n".join(str(w.message) for w in caught if issubclass(w.category, GremlinCsvWarning))
    assert "header names [' ~from', ' ~to', ' ~label'] was trimmed" in text
    assert "GameTitle:String " in text
    assert "4 row(s) have fewer fields than the header's 9 (line(s) 2, 3, 4, 5)" in text
    assert {k: len(v) for k, v in g.nodes.items()} == {"person": 4, "game": 13}
    assert g.num_edges == 26 and list(g.edges) == [("person", "likes", "game")]
    game = g.nodes["game"]
    assert "GameTitle" in game.properties  # the trailing space is gone from the header
    assert game.values["Platform"].tolist()[game.ids.index("GravityRush")] == "PS4"  # leading space trimmed
    assert str(game.values["ReleaseDate"].iloc[game.ids.index("MarioKart8")].date()) == "2017-04-28"
    assert g.nodes["person"].values["GamerAlias"].tolist()[3] == "forchinet"  # trailing spaces trimmed
    assert "Ratchet&Clank" in game.ids and "Mario+Rabbids" in game.ids
    likes = g.edges[("person", "likes", "game")]
    assert likes.values["weight"].between(0.1, 0.9).all()
