"""The 8 invalid requests of ../shared/corpus/sagemaker/invalid: each refused, naming the rule it breaks.

``invalid/REASONS.md`` lists, per file, every rule the file breaks (its check.py output). For each file the
message must name the first rule hyperjob meets (its field path, the offending value, the fix), that rule must be
one REASONS.md lists for the file, ``hyperjob validate`` must exit 2 with one line and no traceback, and once that
rule is fixed, the next one REASONS.md lists is refused too (so the check does not stop at the first rule).
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any, Callable

import pytest
from typer.testing import CliRunner

from hyperjob.cli.app import app
from hyperjob.errors import SpecError
from hyperjob.formats import load_spec
from hyperjob.formats.sagemaker import load_sagemaker_request
from _corpus import CORPUS_ROOT, need

CORPUS = CORPUS_ROOT / "sagemaker" / "invalid"
FILES = sorted(CORPUS.glob("*.json")) or [CORPUS / "missing-corpus.json"]


def reasons() -> dict[str, list[str]]:
    """REASONS.md's check.py output: file prefix -> its lines (``x`` rules and ``-`` notes)."""
    text = need(CORPUS / "REASONS.md").read_text()
    out: dict[str, list[str]] = {}
    current = None
    for line in text.splitlines():
        m = re.match(r"INVALID invalid/(i\d\d)-", line)
        if m:
            current = out.setdefault(m.group(1), [])
        elif current is not None and line.strip().startswith(("x ", "- ")):
            current.append(line.strip())
    return out


#: file -> (the path hyperjob names, what REASONS.md says of that rule, words of hyperjob's message)
FIRST_RULE = {
    "i01": ("HyperParameterTuningJobConfig.ParameterRanges",
            "Invalid type for parameter HyperParameterTuningJobConfig.ParameterRanges",
            ("got a list", "IntegerParameterRanges")),
    "i02": ("TrainingJobDefinitions[0].DefinitionName",
            ".TrainingJobDefinitions[0].DefinitionName='estimator_1' does not match pattern",
            ("'estimator_1'", "[a-zA-Z0-9](-*[a-zA-Z0-9]){0,63}", "'estimator-1'")),
    "i03": ("S3Operations", 'Unknown parameter in input: "S3Operations"', ("unknown field", "Airflow")),
    "i04": ("S3Operations", 'Unknown parameter in input: "S3Operations"', ("unknown field", "Airflow")),
    "i05": ("HyperParameterTuningJobName", 'Missing required parameter in input: "HyperParameterTuningJobName"',
            ("required", "Pipelines")),
    "i06": ("HyperParameterTuningJobName", ".HyperParameterTuningJobName='base_tuning_job-240101-0000' does not match",
            ("'base_tuning_job-240101-0000'", "'base-tuning-job-240101-0000'")),
    "i07": ("HyperParameterTuningJobConfig.ResourceLimits.MaxParallelTrainingJobs",
            "quota: MaxParallelTrainingJobs 123 > default quota 10 (raisable to 100)",
            ("1 to 100 training jobs at once", "got 123", "Use 100 or less")),
    "i08": ("TrainingJobDefinition.RoleArn", ".TrainingJobDefinition.RoleArn='arn:aws:iam::123456789012:user/",
            ("a role, not a user", "arn:aws:iam::111122223333:role/MyRole")),
}


def _fix_i02(d: dict[str, Any]) -> None:
    for i, definition in enumerate(d["TrainingJobDefinitions"]):
        definition["DefinitionName"] = f"estimator-{i + 1}"


def _fix_i05(d: dict[str, Any]) -> None:
    d["HyperParameterTuningJobName"] = "pipeline-step-1"


def _fix_i06(d: dict[str, Any]) -> None:
    d["HyperParameterTuningJobName"] = "base-tuning-job-240101-0000"
    d["HyperParameterTuningJobConfig"]["ResourceLimits"].pop("MaxNumberOfTrainingJobs")
    d["Tags"] = [{"Key": "key1", "Value": "value1"}]
    definition = d["TrainingJobDefinitions"][0]
    definition["DefinitionName"] = "estimator-name"
    definition["AlgorithmSpecification"]["MetricDefinitions"] = [{"Name": "mock_metric", "Regex": "m=(\\S+)"}]


def _fix_i07(d: dict[str, Any]) -> None:
    d["HyperParameterTuningJobConfig"]["ResourceLimits"]["MaxParallelTrainingJobs"] = 10


def _fix_i08(d: dict[str, Any]) -> None:
    d["TrainingJobDefinition"]["RoleArn"] = "arn:aws:iam::123456789012:role/Development"


#: file -> (fix of the first rule, the path of the next rule, what REASONS.md says of it, words of our message)
NEXT_RULE: dict[str, tuple[Callable[[dict[str, Any]], None], str, str, tuple[str, ...]]] = {
    "i02": (_fix_i02, "TrainingJobDefinitions[0].HyperParameterRanges",
            "Invalid type for parameter TrainingJobDefinitions[0].HyperParameterRanges", ("got a list",)),
    "i05": (_fix_i05, "HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType",
            ".HyperParameterTuningJobConfig.TrainingJobEarlyStoppingType='OFF' not in enum ['Off', 'Auto']",
            ("'OFF'", "case-sensitive", "Use 'Off'")),
    "i06": (_fix_i06, "TrainingJobDefinitions[0].HyperParameterRanges.ContinuousParameterRanges[0]",
            "x rule grid-categorical: TrainingJobDefinitions[0] has non-categorical ranges under Grid",
            ("Grid strategy takes categorical ranges only", "'validated'")),
    "i07": (_fix_i07, "TrainingJobDefinition", "rule one-definition: neither given",
            ("no training job definition", "exactly one of TrainingJobDefinition or TrainingJobDefinitions")),
    "i08": (_fix_i08, "TrainingJobDefinition.OutputDataConfig.S3OutputPath",
            ".TrainingJobDefinition.OutputDataConfig.S3OutputPath='test-output-location' does not match pattern",
            ("'test-output-location'", "s3://")),
}


def refusal(data: Any, source: str) -> SpecError:
    with pytest.raises(SpecError) as err:
        load_sagemaker_request(data, source=source, command=["python", "train.py"])
    return err.value


def test_the_corpus_holds_the_8_invalid_requests():
    need(FILES[0])
    assert [p.name[:3] for p in FILES] == sorted(FIRST_RULE)
    assert sorted(reasons()) == sorted(FIRST_RULE)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_each_is_refused_naming_a_rule_that_reasons_md_lists(path):
    need(path)
    where, reason, words = FIRST_RULE[path.name[:3]]
    assert any(reason in line for line in reasons()[path.name[:3]]), reason
    with pytest.raises(SpecError) as err:
        load_spec(path, command=["python", "train.py"])
    message = str(err.value)
    assert err.value.path == where
    assert message.startswith(f"{path}: {where}: ")
    for word in words:
        assert word in message, (word, message)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name[:3])
def test_validate_exits_2_with_one_line_and_no_traceback(path):
    result = CliRunner().invoke(app, ["validate", str(need(path))])
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("SpecError: ")
    assert FIRST_RULE[path.name[:3]][0] in lines[0]
    assert "Traceback" not in result.output
    assert not isinstance(result.exception, Exception) or isinstance(result.exception, SystemExit)


@pytest.mark.parametrize("prefix", sorted(NEXT_RULE))
def test_with_the_first_rule_fixed_the_next_one_is_refused(prefix):
    found = [p for p in FILES if p.name.startswith(prefix)]
    path = need(found[0] if found else CORPUS / f"{prefix}-missing.json")
    fix, where, reason, words = NEXT_RULE[prefix]
    assert any(reason in line for line in reasons()[prefix]), reason
    data = copy.deepcopy(json.loads(path.read_text()))
    fix(data)
    error = refusal(data, path.name)
    assert error.path == where, str(error)
    for word in words:
        assert word in error.message, (word, error.message)
