"""Metric parsing: regexes over log lines, the report() file, and the validate helpers."""

from __future__ import annotations

import json
import math

import pytest

from hyperjob.errors import SpecError
from hyperjob.executors.base import MetricDefinition
from hyperjob.executors.metrics import (
    MAX_LINE_BYTES,
    SUGGESTED_NUMBER,
    LineBuffer,
    MetricParser,
    ReportFileReader,
    check_regex,
    explain_no_match,
    match_line,
    parse_value,
)


@pytest.mark.parametrize(
    "text, expected",
    [("0.5", 0.5), ("-0.5", -0.5), ("+2", 2.0), ("1e-3", 1e-3), ("-2.5E+04", -25000.0), (" 3 ", 3.0), (".5", 0.5)],
)
def test_parse_value_reads_signs_and_exponents(text: str, expected: float) -> None:
    assert parse_value(text) == expected


@pytest.mark.parametrize("text", ["", "abc", "1.2.3", "1_000", None, "0x10"])
def test_parse_value_refuses_non_numbers(text: str | None) -> None:
    assert parse_value(text) is None


def test_parse_value_nan_and_inf() -> None:
    assert math.isnan(parse_value("nan"))  # type: ignore[arg-type]
    assert parse_value("-inf") == -math.inf


def test_parser_first_group_and_steps_count_per_metric() -> None:
    parser = MetricParser(
        [MetricDefinition("loss", r"loss: ([-+0-9.e]+)"), MetricDefinition("acc", r"acc=(?P<v>[0-9.]+)%")]
    )
    a = parser.feed("epoch 0 loss: 0.9 acc=10%", timestamp=5.0)
    b = parser.feed("epoch 1 loss: 1.2e-05")
    c = parser.feed("nothing here")
    d = parser.feed("loss: 0.1 then loss: 0.2")  # one value per line: the first match
    assert [(v.name, v.value, v.step, v.timestamp) for v in a] == [("loss", 0.9, 0, 5.0), ("acc", 10.0, 0, 5.0)]
    assert [(v.name, v.value, v.step) for v in b] == [("loss", 1.2e-05, 1)]
    assert c == []
    assert [(v.name, v.value, v.step) for v in d] == [("loss", 0.1, 2)]


def test_parser_skips_a_capture_that_is_not_a_number_without_counting_a_step() -> None:
    parser = MetricParser([MetricDefinition("loss", r"loss: (\S+)")])
    assert parser.feed("loss: n/a") == []
    assert [(v.value, v.step) for v in parser.feed("loss: 0.3")] == [(0.3, 0)]


def test_parser_refuses_a_regex_without_group_or_that_does_not_compile() -> None:
    with pytest.raises(SpecError, match=r"metric_definitions\[1\]\.regex.*no capture group"):
        MetricParser([MetricDefinition("a", "a: (.*)"), MetricDefinition("loss", "loss: [0-9]+")])
    with pytest.raises(SpecError, match=r"metric_definitions\[0\]\.regex.*does not compile"):
        MetricParser([MetricDefinition("loss", "loss: ([0-9]+")])


def test_line_buffer_keeps_partial_lines_and_splits_on_cr() -> None:
    buf = LineBuffer(tail_lines=2)
    assert buf.push(b"loss: 0.") == []
    assert buf.push(b"5\nepoch 1\r") == ["loss: 0.5", "epoch 1"]
    assert buf.push(b"tail without end") == []
    assert buf.flush() == ["tail without end"]
    assert list(buf.tail) == ["epoch 1", "tail without end"]


def test_line_buffer_decodes_utf8_split_across_chunks_and_cuts_long_lines() -> None:
    buf = LineBuffer()
    text = "é loss\n".encode()
    assert buf.push(text[:1]) == []
    assert buf.push(text[1:]) == ["é loss"]
    lines = buf.push(b"x" * (MAX_LINE_BYTES + 10))
    assert [len(line) for line in lines] == [MAX_LINE_BYTES]
    assert buf.flush() == ["x" * 10]


def test_report_file_reader_tails_incrementally_with_partial_last_line(tmp_path) -> None:
    path = tmp_path / "metrics.jsonl"
    reader = ReportFileReader(path)
    assert reader.read() == []  # not created yet
    line1 = json.dumps({"step": 0, "metrics": {"loss": 0.5, "acc": 0.1}, "time": 10.0}) + "\n"
    line2 = json.dumps({"step": 1, "metrics": {"loss": float("nan")}, "time": 11.0}) + "\n"
    with open(path, "w") as f:
        f.write(line1 + line2[:10])
        f.flush()
        first = reader.read()
        f.write(line2[10:] + "not json\n" + '{"step": "x", "metrics": {}}\n')
        f.flush()
        second = reader.read()
    assert [(v.name, v.value, v.step, v.timestamp) for v in first] == [("loss", 0.5, 0, 10.0), ("acc", 0.1, 0, 10.0)]
    assert len(second) == 1 and second[0].step == 1 and math.isnan(second[0].value)
    assert reader.bad_lines == 2
    assert reader.read() == []
    reader.close()


def test_match_line_is_stateless_and_skips_bad_definitions() -> None:
    defs = [
        MetricDefinition("loss", r"loss: ([0-9.]+)"),
        MetricDefinition("bad", r"loss: [0-9.]+"),  # no group
        MetricDefinition("broken", r"(["),
    ]
    assert match_line(defs, "epoch 3 loss: 0.25") == {"loss": 0.25}
    assert match_line(defs, "epoch 3 loss: 0.25") == {"loss": 0.25}
    assert match_line(defs, "nothing") == {}


def test_check_regex_accepts_a_full_number_regex() -> None:
    assert check_regex(f"loss: {SUGGESTED_NUMBER}") == []
    assert check_regex(r"(?i)LOSS = (?P<v>[-+]?\d*\.?\d+(?:[eE][-+]?\d+)?)") == []


def test_check_regex_warns_about_sign_and_exponent() -> None:
    problems = check_regex(r"Test set: Average loss: ([0-9\.]+)")
    assert len(problems) == 2
    assert "minus sign" in problems[0]
    assert "exponent" in problems[1] and "1.2e-05 is read as 1.2" in problems[1]


def test_check_regex_reports_no_group_empty_match_and_compile_error() -> None:
    assert "no capture group" in check_regex("loss: [0-9.]+")[0]
    assert any("empty string" in p for p in check_regex(r"loss: ([-+0-9.eE]*)"))
    assert "does not compile" in check_regex("loss: ([0-9]")[0]
    assert any("decimal point" in p for p in check_regex(r"epoch (\d+)"))


def test_check_regex_finds_the_group_after_classes_and_non_capturing_groups() -> None:
    # the parentheses inside the class and the (?:...) group are not the capture group
    problems = check_regex(r"[()](?:val) loss: ([0-9.]+)")
    assert problems and "([0-9.]+)" in problems[0]


def test_explain_no_match_points_at_where_the_line_departs() -> None:
    why = explain_no_match(r"loss: ([0-9.]+)", "loss = 0.5")
    assert why is not None and "up to 'loss'" in why and "' = 0.5'" in why
    assert explain_no_match(r"loss: ([0-9.]+)", "loss: 0.5") is None
    not_number = explain_no_match(r"loss: (\S+)", "loss: n/a")
    assert not_number is not None and "'n/a' is not a number" in not_number
    assert "no part" in (explain_no_match(r"zzz: ([0-9]+)", "loss: 1") or "")
