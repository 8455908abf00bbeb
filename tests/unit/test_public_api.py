"""The public API: every name in hyperjob.__all__ resolves, and `import hyperjob` stays cheap."""

import subprocess
import sys

import hyperjob


def test_every_public_name_resolves():
    for name in hyperjob.__all__:
        assert getattr(hyperjob, name) is not None, name


def test_unknown_attribute_is_an_attribute_error():
    try:
        hyperjob.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:  # pragma: no cover
        raise AssertionError("expected AttributeError")


def test_report_import_pulls_in_nothing_heavy():
    code = (
        "import sys; from hyperjob import report; "
        "heavy = [m for m in ('typing', 'numpy', 'torch', 'pydantic', 'sqlalchemy', 'rich', 'typer') "
        "if m in sys.modules]; print(','.join(heavy)); assert callable(report)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""
