"""The corpus folder ``../shared/corpus/neptune/graphs/``: every graph loads, and tuning jobs run on air-routes.

One module for the folder, parametrized over its graphs (air-routes; air-routes-small in its three header
styles; the messy collaborative-filtering graph):

- each loads with :func:`~hyperjob.algorithms.graph.gremlin.read_gremlin_csv`, and its node counts per label,
  edge counts per edge type and every property value agree with the numbers its ``SOURCE.md`` gives *and* with
  an independent count made here with the ``csv`` module alone;
- the messy graph loads by the documented lenient rules (``docs/graph.md``), with the warnings asserted, and
  still has the traits that make it messy (so the test cannot pass on a cleaned-up copy);
- the three header styles of air-routes-small give the same graph, value for value;
- a short tuning job runs on air-routes through the CLI as a user runs it (``hyperjob graph init``, then
  ``hyperjob tune model-HPO-configuration.json --data ... --max-jobs 2``): node regression on ``airport.elev``
  with rgcn (a task of its SOURCE.md), its objective read and finite;
- the Neptune-generated configuration ``neptune/configs/02-*`` (``global-norm``, ``sparse-embedding`` beside the
  documented list) tunes rgcn node classification on ``airport.runways`` to completion, ``global-norm``
  accepted and ignored with one warning line in each training log.

Without the shared corpus these tests skip, except in CI (``CI`` set): then they fail.
"""

from __future__ import annotations

import csv
import json
import math
import os
import re
import subprocess
import sys
import warnings
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

import pytest

from hyperjob.algorithms.graph.gremlin import GremlinCsvWarning, GremlinGraph, read_gremlin_csv
from _corpus import CORPUS_ROOT, need as need_corpus

CORPUS = CORPUS_ROOT / "neptune"
GRAPHS = CORPUS / "graphs"
CONFIG_02 = "02-aws-samples-creditcard-fraud-rgcn-node_class.json"
SMALL = "air-routes-small-neptune-export"
STYLES = ("typed-plain", "typed-with-fromLabels", "ml-profile-untyped")

ROUTE = ("airport", "route", "airport")
#: what each SOURCE.md says: nodes per label, edges per (source label, edge label, destination label)
EXPECTED: dict[str, dict[str, Any]] = {
    "air-routes": {
        "nodes": {"airport": 3504, "country": 237, "continent": 7, "version": 1},
        "edges": {ROUTE: 50637, ("country", "contains", "airport"): 3504,
                  ("continent", "contains", "airport"): 3504},
    },
    **{f"{SMALL}/{style}": {"nodes": {"airport": 46, "version": 1}, "edges": {ROUTE: 1326}} for style in STYLES},
    "collaborative-filtering-games": {
        "nodes": {"person": 4, "game": 13},
        "edges": {("person", "likes", "game"): 26},
    },
}
#: the corpus folders, and the inputs each holds
FOLDERS = {"air-routes": ["air-routes"], SMALL: [f"{SMALL}/{s}" for s in STYLES],
           "collaborative-filtering-games": ["collaborative-filtering-games"]}


@pytest.fixture
def graphs_dir() -> Path:
    """The corpus's ``neptune/graphs`` folder; a skip without it (a failure in CI: ``CI`` set)."""
    need_corpus(GRAPHS)
    return GRAPHS


@lru_cache(maxsize=None)
def _read(name: str) -> tuple[GremlinGraph, tuple[str, ...]]:
    """The graph as hyperjob reads it, with the GremlinCsvWarning messages it raised (read once per session)."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        graph = read_gremlin_csv(GRAPHS / name)
    return graph, tuple(str(w.message) for w in caught if issubclass(w.category, GremlinCsvWarning))


@lru_cache(maxsize=None)
def _csv_count(name: str) -> dict[str, Any]:
    """An independent reading with the csv module: header names and fields stripped, short rows as they are.

    Returns ``nodes`` (label -> {~id -> {property -> raw text}}), ``edges`` (edge type -> {~id -> (from, to,
    {property -> raw text})}) and ``columns`` (property -> declared type name, '' if untyped).
    """
    nodes: dict[str, dict[str, dict[str, str]]] = {}
    raw_edges: list[dict[str, str]] = []
    columns: dict[str, str] = {}
    files = sorted(p for p in (GRAPHS / name).rglob("*") if p.suffix.lower() in (".csv", ".txt"))
    for path in files:
        with open(path, encoding="utf-8-sig", newline="") as fh:
            rows = [r for r in csv.reader(fh) if r]
        header = [h.strip() for h in rows[0]]
        for h in header:
            if not h.startswith("~"):
                columns[h.split(":")[0]] = h.split(":")[1].lower() if ":" in h else ""
        for r in rows[1:]:
            rec = {h.split(":")[0]: v.strip() for h, v in zip(header, r)}
            if "~from" in header:
                raw_edges.append(rec)
            else:
                label = rec.get("~label") or "vertex"
                nodes.setdefault(label, {})[rec["~id"]] = {k: v for k, v in rec.items() if not k.startswith("~")}
    label_of = {i: label for label, ids in nodes.items() for i in ids}
    edges: dict[tuple[str, str, str], dict[str, tuple[str, str, dict[str, str]]]] = {}
    for rec in raw_edges:
        et = (label_of[rec["~from"]], rec["~label"], label_of[rec["~to"]])
        props = {k: v for k, v in rec.items() if not k.startswith("~")}
        edges.setdefault(et, {})[rec["~id"]] = (rec["~from"], rec["~to"], props)
    return {"nodes": nodes, "edges": edges, "columns": columns}


def _same(kind: str, raw: str | None, value: Any) -> bool:
    """Whether the reader's ``value`` is what the csv text ``raw`` says (None/empty: no value)."""
    if raw in (None, ""):
        return value is None or (isinstance(value, float) and math.isnan(value)) or str(value) == "NaT"
    if kind in ("int", "float"):
        return float(raw) == float(value)
    if kind == "date":
        y, m, d = (int(x) for x in raw.split(" ")[0].split("T")[0].split("-"))
        return (value.year, value.month, value.day) == (y, m, d)
    assert kind == "string", kind  # the corpus has no bool or array column
    return raw == value


# ------------------------------------------------------------------------------------------------ loading


def test_the_folder_holds_the_graphs_this_module_knows(graphs_dir):
    assert sorted(p.name for p in graphs_dir.iterdir() if p.is_dir()) == sorted(FOLDERS)
    assert sorted(p.name for p in (graphs_dir / SMALL).iterdir() if p.is_dir()) == sorted(STYLES)


@pytest.mark.parametrize("name", [n for names in FOLDERS.values() for n in names])
def test_graph_loads_with_the_counts_of_its_source(graphs_dir, name):
    graph, _ = _read(name)
    expected = EXPECTED[name]
    independent = _csv_count(name)
    # SOURCE.md's numbers
    assert {k: len(v) for k, v in graph.nodes.items()} == expected["nodes"]
    assert {k: len(v) for k, v in graph.edges.items()} == expected["edges"]
    assert graph.num_nodes == sum(expected["nodes"].values()) and graph.num_edges == sum(expected["edges"].values())
    # the csv module's count agrees
    assert {k: len(v) for k, v in independent["nodes"].items()} == expected["nodes"]
    assert {k: len(v) for k, v in independent["edges"].items()} == expected["edges"]


@pytest.mark.parametrize("name", [n for names in FOLDERS.values() for n in names])
def test_every_value_is_what_the_file_says(graphs_dir, name):
    graph, _ = _read(name)
    independent = _csv_count(name)
    checked = 0
    for label, nodeset in graph.nodes.items():
        rows = independent["nodes"][label]
        assert sorted(nodeset.ids) == sorted(rows)
        for prop, spec in nodeset.properties.items():
            declared = independent["columns"][prop]
            if declared:  # a typed header: the reader keeps that type (names in any case)
                assert spec.declared and spec.kind == {"int": "int", "double": "float", "string": "string",
                                                       "date": "date"}[declared], (prop, spec)
            values = nodeset.values[prop]
            for i, node_id in enumerate(nodeset.ids):
                raw = rows[node_id].get(prop)
                assert _same(spec.kind, raw, values.iloc[i]), (label, node_id, prop, raw, values.iloc[i])
                checked += 1
    for et, edgeset in graph.edges.items():
        rows_e = independent["edges"][et]
        src_ids, dst_ids = graph.nodes[et[0]].ids, graph.nodes[et[2]].ids
        for i, edge_id in enumerate(edgeset.ids):
            frm, to, props = rows_e[edge_id]
            assert (src_ids[int(edgeset.src[i])], dst_ids[int(edgeset.dst[i])]) == (frm, to)
            for prop, spec in edgeset.properties.items():
                assert _same(spec.kind, props.get(prop), edgeset.values[prop].iloc[i]), (et, edge_id, prop)
                checked += 1
    assert checked > sum(EXPECTED[name]["edges"].values())


def test_air_routes_shape_as_source_md_gives_it(graphs_dir):
    graph, notes = _read("air-routes")
    assert notes == ()  # a clean file: nothing read leniently
    airport = graph.nodes["airport"]
    runways = Counter(int(v) for v in airport.values["runways"])
    assert dict(sorted(runways.items())) == {1: 2429, 2: 775, 3: 227, 4: 53, 5: 14, 6: 4, 7: 2}
    assert (airport.values["elev"].min(), airport.values["elev"].max()) == (-72, 14472)
    assert (airport.values["longest"].min(), airport.values["longest"].max()) == (1300, 18045)
    assert airport.values["country"].nunique() == 232 and airport.values["region"].nunique() == 1527
    assert graph.edges[ROUTE].values["dist"].notna().all()
    assert graph.edges[("country", "contains", "airport")].values["dist"].isna().all()
    assert len(graph.files) == 2  # all labels in one node file, all edges in one edge file


@pytest.mark.parametrize("style", STYLES)
def test_air_routes_small_shape_as_source_md_gives_it(graphs_dir, style):
    graph, notes = _read(f"{SMALL}/{style}")
    assert notes == ()
    airport = graph.nodes["airport"]
    assert (airport.values["runways"].min(), airport.values["runways"].max()) == (1, 8)
    assert (airport.values["longest"].min(), airport.values["longest"].max()) == (5701, 16000)
    assert (airport.values["elev"].min(), airport.values["elev"].max()) == (3, 6348)
    assert airport.values["city"].nunique() == 43 and Counter(airport.values["country"]) == {"US": 45, "PR": 1}
    assert "\n" in graph.nodes["version"].values["desc"].iloc[0]  # the RFC 4180 multi-line field
    assert len(graph.edges[ROUTE].files) == 4  # one label split over four part files
    assert airport.properties["elev"].declared is (style != "ml-profile-untyped")
    if style == "ml-profile-untyped":
        parts = sorted((GRAPHS / SMALL / style / "edges").iterdir())
        with_rows = [sum(1 for r in csv.reader(open(p, newline="", encoding="utf-8")) if r) - 1 for p in parts]
        assert with_rows == [330, 332, 332, 332]


def test_air_routes_small_three_header_styles_agree(graphs_dir):
    graphs = [_read(f"{SMALL}/{style}")[0] for style in STYLES]
    kinds = [{p: s.kind for p, s in g.nodes["airport"].properties.items()} for g in graphs]
    assert kinds[0] == kinds[1] == kinds[2]  # the untyped style infers what the typed ones declare
    assert kinds[0]["lat"] == "float" and kinds[0]["runways"] == "int" and kinds[0]["city"] == "string"

    def table(g: GremlinGraph, label: str) -> dict[str, tuple]:
        ns = g.nodes[label]
        return {i: tuple(str(ns.values[p].iloc[k]) for p in sorted(ns.properties)) for k, i in enumerate(ns.ids)}

    def routes(g: GremlinGraph) -> dict[str, tuple]:
        es, ids = g.edges[ROUTE], g.nodes["airport"].ids
        return {e: (ids[int(es.src[k])], ids[int(es.dst[k])], float(es.values["dist"].iloc[k]))
                for k, e in enumerate(es.ids)}

    for label in ("airport", "version"):
        tables = [table(g, label) for g in graphs]
        assert tables[0] == tables[1] == tables[2], label
    assert routes(graphs[0]) == routes(graphs[1]) == routes(graphs[2])
    assert len(routes(graphs[0])) == 1326


def test_messy_graph_loads_by_the_documented_lenient_rules(graphs_dir):
    folder = graphs_dir / "collaborative-filtering-games"
    vertex, edges = (folder / "vertex.txt").read_bytes(), (folder / "edges.txt").read_bytes()
    # the traits that make it messy are still there
    assert b"\r\n" in vertex and b"\r\n" in edges and not edges.endswith(b"\n")
    assert vertex.split(b"\r\n")[0].endswith(b"GameTitle:String ")
    assert edges.split(b"\r\n")[0] == b"~id, ~from, ~to, ~label, weight:Double"
    assert b"Luke,person,skywalker123\r\n" in vertex and b"forchinet       \r\n" in vertex

    graph, notes = _read("collaborative-filtering-games")
    text = "\n".join(notes)
    # one warning per lenient rule applied, naming the file and the lines
    assert len(notes) == 3, notes
    assert "edges.txt: line 1: whitespace around header names [' ~from', ' ~to', ' ~label'] was trimmed" in text
    assert "vertex.txt: line 1: whitespace around header names ['GameTitle:String '] was trimmed" in text
    assert ("vertex.txt: 4 row(s) have fewer fields than the header's 9 (line(s) 2, 3, 4, 5); their missing "
            "fields are read as empty (no value).") in text
    assert graph.warnings == list(notes)
    game, person = graph.nodes["game"], graph.nodes["person"]
    assert "GameTitle" in game.properties and " ~from" not in str(graph.edges)
    assert Counter(game.values["GameGenre"]) == {"Adventure": 5, "Action": 3, "Racing": 2, "Shooter": 2,
                                                 "Sports": 1}
    assert person.values["GamerAlias"].tolist() == ["skywalker123", "smiles007", "bringit32", "forchinet"]
    assert person.values["GameGenre"].isna().all() and person.values["ReleaseDate"].isna().all()  # padded rows
    platform = dict(zip(game.ids, game.values["Platform"]))
    developer = dict(zip(game.ids, game.values["Developer"]))
    assert (developer["GravityRush"], platform["GravityRush"]) == ("Project Siren", "PS4")  # ', PS4' trimmed
    assert {"Ratchet&Clank", "Mario+Rabbids"} <= set(game.ids)
    released = dict(zip(game.ids, game.values["ReleaseDate"]))
    assert str(released["MarioKart8"].date()) == "2017-04-28"  # '2017-4-28', not zero-padded
    weight = graph.edges[("person", "likes", "game")].values["weight"]
    assert (weight.min(), weight.max()) == (0.1, 0.9)


# ------------------------------------------------------------------------------------------------ tuning jobs


def hj(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """``hyperjob ARGS`` as a user runs it (one torch thread per process: the machine is shared)."""
    env = {**os.environ, "COLUMNS": "250", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", "hyperjob", *args], cwd=cwd, capture_output=True, text=True,
                          env=env, timeout=300)


def _shrink(config: dict[str, Any]) -> dict[str, Any]:
    """What a user does for a smoke run: a tiny model (num-hidden 8 or 16) trained 1 or 2 epochs."""
    for p in config["models"][0]["1-tier-param"]:
        if p["param"] == "num-hidden":
            p["range"] = [8, 16]
        elif p["param"] == "num-epochs":
            p["range"] = [1, 2]
    return config


def _logged(log: str, metric: str) -> list[float]:
    return [float(v) for v in re.findall(rf"\] validation {metric}=([-+0-9.eE]+|nan|inf)", log)]


def _finished(name: str, cwd: Path, metric: str) -> list[dict[str, Any]]:
    """The tuning job's training jobs, checked: 2, all Completed, each objective read, finite, and one of the
    values its training log printed."""
    described = hj("describe", name, "--json", cwd=cwd)
    assert described.returncode == 0, described.stderr
    doc = json.loads(described.stdout)
    assert doc["HyperParameterTuningJobStatus"] == "Completed"
    assert doc["TrainingJobStatusCounters"]["Completed"] == 2 and doc["ObjectiveStatusCounters"]["Succeeded"] == 2
    jobs = json.loads(hj("trials", name, "--json", cwd=cwd).stdout)["TrainingJobSummaries"]
    assert len(jobs) == 2 and {j["TrainingJobStatus"] for j in jobs} == {"Completed"}
    for job in jobs:
        objective = job["FinalHyperParameterTuningJobObjectiveMetric"]
        assert objective["MetricName"] == metric and math.isfinite(objective["Value"])
        log = (cwd / "hyperjob-runs" / name / job["TrainingJobName"] / "train.log").read_text()
        printed = _logged(log, metric)
        assert printed and any(math.isclose(objective["Value"], v, rel_tol=1e-6) for v in printed), (objective, printed)
        job["log"] = log
    best = doc["BestTrainingJob"]["FinalHyperParameterTuningJobObjectiveMetric"]["Value"]
    values = [j["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] for j in jobs]
    assert best == (min(values) if doc["HyperParameterTuningJobConfig"]["HyperParameterTuningJobObjective"]["Type"]
                    == "Minimize" else max(values))
    return jobs


@pytest.mark.slow
def test_air_routes_elev_regression_tuning_job_through_the_cli(graphs_dir, tmp_path):
    init = hj("graph", "init", str(graphs_dir / "air-routes"), "--task", "node_regression", "--target",
              "airport.elev", "--out", "job", cwd=tmp_path)
    assert init.returncode == 0, init.stderr
    assert "split train 3154, validation 350, test 0" in init.stdout  # 3,504 airports, 90/10
    config_path = tmp_path / "job" / "model-HPO-configuration.json"
    config = json.loads(config_path.read_text())
    assert config["models"][0]["model"] == "rgcn" and config["models"][0]["eval_metric"] == {"metric": "mse"}
    config_path.write_text(json.dumps(_shrink(config)))

    tune = hj("tune", "job/model-HPO-configuration.json", "--data", "job/processed", "--max-jobs", "2",
              "--name", "air-routes-elev", "--quiet", cwd=tmp_path)
    assert tune.returncode == 0, tune.stdout + tune.stderr
    jobs = _finished("air-routes-elev", tmp_path, "mse")
    for job in jobs:
        assert set(job["TunedHyperParameters"]) == {"num-hidden", "num-epochs", "lr"}
        assert job["TunedHyperParameters"]["num-epochs"] in (1, 2)
        assert job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] > 0  # a squared error, in feet²
        assert len(_logged(job["log"], "mse")) == job["TunedHyperParameters"]["num-epochs"]  # every epoch
    best = hj("best", "air-routes-elev", "--json", cwd=tmp_path)
    assert best.returncode == 0, best.stderr
    assert (tmp_path / json.loads(best.stdout)["ModelDir"] / "model.pt").is_file()


@pytest.mark.slow
def test_neptune_generated_config_02_tunes_on_air_routes_runways(graphs_dir, tmp_path):
    source = CORPUS / "configs" / CONFIG_02
    if not source.is_file():  # the graphs are there (fixture): the configs folder must be too
        pytest.fail(f"{source} is missing from the corpus", pytrace=False)
    config = json.loads(source.read_text())
    body = config["models"][0]
    assert {p["param"] for p in body["2-tier-param"]} >= {"global-norm"}  # the file as Neptune wrote it
    assert {p["param"] for p in body["3-tier-param"]} >= {"sparse-embedding"}
    (tmp_path / "model-HPO-configuration.json").write_text(json.dumps(_shrink(config)))
    process = hj("graph", "process", str(graphs_dir / "air-routes"), "--task", "node_class", "--target",
                 "airport.runways", "--out", "processed", cwd=tmp_path)
    assert process.returncode == 0, process.stderr

    tune = hj("tune", "model-HPO-configuration.json", "--data", "processed", "--max-jobs", "2", "--name", "c02",
              "--quiet", cwd=tmp_path)
    assert tune.returncode == 0, tune.stdout + tune.stderr
    for job in _finished("c02", tmp_path, "roc_auc"):
        assert 0.0 <= job["FinalHyperParameterTuningJobObjectiveMetric"]["Value"] <= 1.0
        warned = [line for line in job["log"].splitlines() if "global-norm" in line]
        assert warned == ["warning: hyperparameter 'global-norm' (True) is accepted and ignored: Neptune ML writes "
                          "it into generated rgcn configurations (e.g. ../shared/corpus/neptune/configs/02-*) but "
                          "neither its documentation nor the neptuneml-toolkit publishes what it does, so it has no "
                          "effect here."]
        saved = json.loads((tmp_path / "hyperjob-runs" / "c02" / job["TrainingJobName"] / "model" /
                            "hyperparameters.json").read_text())["hyperparameters"]
        # the configuration's values reached the model: tier 2 and 3 at their defaults (budget 2 tunes tier 1)
        assert saved["global-norm"] is True and saved["sparse-embedding"] is True
        assert saved["num-bases"] == 2 and saved["concat-node-embed"] is True and saved["use-class-weight"] is True
        # eval_frequency {"type": "evaluate_every_epoch", "value": "3"}: a 1-2 epoch job is evaluated once, at its end
        assert len(_logged(job["log"], "roc_auc")) == 1


# ------------------------------------------------------------------------------------------------ global-norm


def test_global_norm_is_accepted_ignored_and_checked():
    from hyperjob.algorithms.graph.hyperparameters import check_hyperparameters, defaults
    from hyperjob.errors import SpecError

    assert "global-norm" not in defaults("rgcn", "node_class")  # only where given
    assert check_hyperparameters("rgcn", "node_class", {"global-norm": "false"})["global-norm"] is False
    with pytest.raises(SpecError, match="hyperparameters.global-norm: must be true or false, got 'maybe'"):
        check_hyperparameters("rgcn", "node_class", {"global-norm": "maybe"})
    with pytest.raises(SpecError, match="'global-norm' does not apply to model 'transe'"):
        check_hyperparameters("transe", "link_prediction", {"global-norm": "true"})


def test_global_norm_has_no_effect_and_one_log_line():
    import torch

    from hyperjob.algorithms.graph import synthetic
    from hyperjob.algorithms.graph.train import train

    torch.set_num_threads(1)
    graph = synthetic.planted_partition("node_class", num_users=30, num_items=10)
    hp = {"num-epochs": 2, "num-hidden": 8, "fanout": [3, 3], "batch-size": 8}
    runs = []
    for extra in ({}, {"global-norm": "True"}, {"global-norm": "False"}):
        lines: list[str] = []
        result = train(graph, "rgcn", {**hp, **extra}, seed=3, log=lines.append, report=lambda **m: None)
        runs.append(([e["metrics"] for e in result.evaluations], [x for x in lines if "global-norm" in x]))
    assert runs[0][0] == runs[1][0] == runs[2][0]  # same seed, same evaluations: no effect
    assert runs[0][1] == [] and len(runs[1][1]) == 1 and len(runs[2][1]) == 1
    assert runs[2][1][0].startswith("warning: hyperparameter 'global-norm' (False) is accepted and ignored: ")
