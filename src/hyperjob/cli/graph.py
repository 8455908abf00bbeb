"""``hyperjob graph``: turn a Gremlin CSV export into a processed graph and a ``model-HPO-configuration.json``.

::

    hyperjob graph process EXPORT_DIR --task node_regression --target airport.elev --out processed/
    hyperjob graph init EXPORT_DIR --task link_prediction --target route [--model rgcn] [--out graph-job/]
    hyperjob tune graph-job/model-HPO-configuration.json --data graph-job/processed --max-jobs 2

Errors go through the CLI's error boundary (:func:`hyperjob.cli.app.boundary`): one red line, exit code 2.
"""

from __future__ import annotations

import json
import shlex
import warnings
from pathlib import Path
from typing import Any, Optional

import typer

from hyperjob.errors import SpecError

graph_app = typer.Typer(
    name="graph",
    help="Neptune ML graphs: process a Gremlin CSV export, write a model-HPO-configuration.json.",
    no_args_is_help=True,
    pretty_exceptions_show_locals=False,
    add_completion=False,
)

TASK_HELP = "node_class, node_regression or link_prediction."
TARGET_HELP = ("label.property for node tasks (e.g. airport.elev); an edge label (route) or "
               "'source,label,destination' for link_prediction.")


def _split(text: Optional[str]) -> list[float] | None:
    if text is None:
        return None
    try:
        return [float(x) for x in text.split(",")]
    except ValueError:
        raise SpecError(f"--split takes three fractions separated by commas (train,validation,test), got {text!r}. "
                        "Use e.g. 0.8,0.1,0.1.", path="split") from None


def _process(export_dir: Path, task: str, target: Optional[str], out: Path, seed: int, split: Optional[str],
             skip_bad_rows: bool, force: bool) -> Any:
    if (out / "graph.json").exists() and not force:  # before importing torch
        raise SpecError(f"{out} already holds a processed graph. Choose another folder, or overwrite it with "
                        "--force.", path="out")
    from rich.markup import escape

    from hyperjob.algorithms.graph.gremlin import GremlinCsvWarning, read_gremlin_csv
    from hyperjob.cli.app import err

    fractions = _split(split)
    with warnings.catch_warnings(record=True) as caught:  # read first: data errors come before torch loads
        warnings.simplefilter("always", GremlinCsvWarning)
        export = read_gremlin_csv(export_dir, skip_bad_rows=skip_bad_rows)
    for w in caught:
        if issubclass(w.category, GremlinCsvWarning):
            err.print(f"[yellow]warning[/yellow]: {escape(str(w.message))}", highlight=False, soft_wrap=True)
    from hyperjob.algorithms.graph.process import process_graph

    return process_graph(export, task=task, target=target, out=out, seed=seed, split=fractions, overwrite=force)


def _summary(graph: Any, out: Path) -> list[str]:
    sizes = {k: len(v) for k, v in graph.split.items()}
    edges = ", ".join(f"{','.join(k)} {int(v.shape[1])}" for k, v in graph.edges.items())
    lines = [
        f"processed graph written to {out}",
        f"  nodes: {graph.total_nodes} ({', '.join(f'{k} {v}' for k, v in graph.num_nodes.items())})",
        f"  edges: {graph.num_edges} ({edges})",
        f"  features: {', '.join(f'{k} {tuple(v.shape)[1]}' for k, v in graph.node_features.items()) or 'none'}",
        f"  task: {graph.task}, target {graph.meta.get('target')}; split train {sizes.get('train', 0)}, "
        f"validation {sizes.get('validation', 0)}, test {sizes.get('test', 0)}",
    ]
    return lines


def _boundary(fn: Any) -> Any:
    from hyperjob.cli.app import boundary

    return boundary(fn)


@graph_app.command("process")
def process_cmd(
    export_dir: Path = typer.Argument(..., help="The Gremlin CSV export folder (node and edge files)."),
    task: str = typer.Option(..., "--task", help=TASK_HELP),
    target: Optional[str] = typer.Option(None, "--target", help=TARGET_HELP),
    out: Path = typer.Option(..., "--out", help="The folder to write the processed graph into."),
    seed: int = typer.Option(0, "--seed", help="The split's seed."),
    split: Optional[str] = typer.Option(None, "--split", help="train,validation,test fractions (default 0.9,0.1,0.0)."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Skip rows with too many fields and edges to unknown nodes, with a warning."),
    force: bool = typer.Option(False, "--force", help="Replace a processed graph already in --out."),
) -> None:
    """Read a Gremlin CSV export and write its features, target and split once (graph.json + tensors.pt)."""
    from hyperjob.cli.app import out as console

    @_boundary
    def run() -> None:
        graph = _process(export_dir, task, target, out, seed, split, skip_bad_rows, force)
        for line in _summary(graph, out):
            console.print(line, highlight=False, soft_wrap=True, markup=False)

    run()


@graph_app.command("init")
def init_cmd(
    export_dir: Path = typer.Argument(..., help="The Gremlin CSV export folder (node and edge files)."),
    task: str = typer.Option(..., "--task", help=TASK_HELP),
    target: Optional[str] = typer.Option(None, "--target", help=TARGET_HELP),
    model: Optional[str] = typer.Option(None, "--model", help="rgcn, transe, distmult or rotate (default: Neptune's for the task)."),
    out: Path = typer.Option(Path("graph-job"), "--out", help="The folder for model-HPO-configuration.json, hpo-configuration-templates/ and processed/."),
    seed: int = typer.Option(0, "--seed", help="The split's seed."),
    split: Optional[str] = typer.Option(None, "--split", help="train,validation,test fractions (default 0.9,0.1,0.0)."),
    max_jobs: int = typer.Option(2, "--max-jobs", help="The budget shown in the printed tune command (Neptune's default 2)."),
    skip_bad_rows: bool = typer.Option(False, "--skip-bad-rows", help="Skip rows with too many fields and edges to unknown nodes, with a warning."),
    force: bool = typer.Option(False, "--force", help="Replace files already in --out."),
) -> None:
    """Process the export into OUT/processed and write the template model-HPO-configuration.json to edit."""
    from hyperjob.algorithms.graph.process import default_eval_metric
    from hyperjob.algorithms.graph.templates import default_model, write_templates
    from hyperjob.cli.app import out as console

    @_boundary
    def run() -> None:
        config = out / "model-HPO-configuration.json"
        if config.exists() and not force:
            raise SpecError(f"{config} exists. Edit it, choose another --out, or pass --force to replace it.",
                            path="out")
        graph = _process(export_dir, task, target, out / "processed", seed, split, skip_bad_rows, force)
        features = bool(graph.node_features)
        chosen = model or default_model(task, features=features)
        written = write_templates(out, chosen, task, eval_metric=default_eval_metric(graph), features=features,
                                  imbalanced=bool(graph.meta.get("imbalanced")), multi_label=graph.multi_label)
        for line in _summary(graph, out / "processed"):
            console.print(line, highlight=False, soft_wrap=True, markup=False)
        console.print(f"configuration: {written[0]} (model {chosen}, eval_metric "
                      f"{json.dumps(default_eval_metric(graph))})", highlight=False, soft_wrap=True, markup=False)
        if len(written) > 1:
            console.print(f"templates of the other models: {written[1].parent}", highlight=False, markup=False)
        command = ["hyperjob", "tune", str(written[0]), "--data", str(out / "processed"), "--max-jobs",
                   str(max_jobs)]
        console.print("edit the configuration if you like, then run:", highlight=False, markup=False)
        console.print(f"  {shlex.join(command)}", highlight=False, soft_wrap=True, markup=False)

    run()


def neptune_tuning_spec(config: Path, data: Optional[Path], max_jobs: Optional[int], *,
                        command: Optional[list[str]] = None, notes: Optional[list[str]] = None) -> Any:
    """The :class:`~hyperjob.formats.spec.TuningJobSpec` ``hyperjob tune CONFIG --data DIR [-- cmd]`` runs
    (:func:`hyperjob.algorithms.graph.tuning.config_tuning_spec`).

    Raises:
        SpecError: ``--data`` is missing for a built-in model, or anything :func:`graph_tuning_spec` refuses.
    """
    from hyperjob.algorithms.graph.tuning import config_tuning_spec

    if not is_neptune_config(config):
        raise SpecError("--data applies to a Neptune ML model-HPO-configuration.json, and this file is not one. "
                        "Set program.channels in the spec, or give --channel NAME=PATH, instead.", source=str(config))
    return config_tuning_spec(config, data, max_jobs, command=command, notes=notes)


def is_neptune_config(path: Path) -> bool:
    """Whether ``path`` is a ``model-HPO-configuration.json`` (by name, or a JSON object with ``models``)."""
    from hyperjob.formats.neptune import FILE_NAMES

    if path.is_dir():
        return any((path / n).is_file() for n in FILE_NAMES)
    if path.name in FILE_NAMES:
        return True
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    try:
        doc = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError):
        return False
    return isinstance(doc, dict) and "models" in doc and "program" not in doc
