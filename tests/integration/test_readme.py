"""The README's code examples run as written (with a stand-in training function)."""

import re
from pathlib import Path

README = Path(__file__).parents[2] / "README.md"


def _block_after(heading: str) -> str:
    text = README.read_text()
    start = text.index(heading)
    match = re.search(r"```python\n(.*?)```", text[start:], re.S)
    assert match, f"no python block after {heading!r}"
    return match.group(1)


def test_ask_tell_example_runs_and_finds_a_good_configuration():
    code = _block_after("### Ask/tell")
    calls = []

    def train(lr, optimizer):
        calls.append((lr, optimizer))
        if len(calls) == 3:
            raise RuntimeError("diverged")
        return 1 - abs(lr - 0.01) * 10 - (0.1 if optimizer == "sgd" else 0)

    namespace = {"train": train, "print": lambda *a: None}
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    at = namespace["at"]
    config, value = at.best
    assert len(calls) == 20
    assert value == max(1 - abs(lr - 0.01) * 10 - (0.1 if o == "sgd" else 0) for i, (lr, o) in enumerate(calls) if i != 2)
    assert value > 0.8


def test_tune_example_runs(tmp_path, monkeypatch):
    code = _block_after("## Python")
    monkeypatch.chdir(tmp_path)
    code = code.replace("max_jobs=30", "max_jobs=6")
    namespace = {"validation_loss": None, "print": lambda *a: None}
    # the README's train() body is `...`; give it a real return value
    code = code.replace("    return validation_loss", "    return (hp['lr'] - 0.01) ** 2 + hp['layers']")
    exec(compile(code, str(README), "exec"), namespace)  # noqa: S102 - our own README
    result = namespace["result"]
    assert result.status == "Completed"
    assert len(result.jobs) == 6
    assert result.best_value == min(j["value"] for j in result.jobs)
    assert result.best_value == (result.best_config["lr"] - 0.01) ** 2 + result.best_config["layers"]
