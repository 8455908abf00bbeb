"""The one owner of URL handling: anything that is not a local path goes through fsspec here.

A *URL* is ``scheme://...`` with a scheme other than ``file``: ``s3://bucket/prefix``, ``gs://...``,
``memory://...``, any protocol fsspec knows. Local paths (and ``file://`` URLs) are left to the caller.

- :func:`is_url` says whether a string is such a URL.
- :func:`filesystem` opens the fsspec filesystem for it with the storage options hyperjob passes: for ``s3``
  the endpoint comes from an explicit ``endpoint_url`` option, else ``AWS_ENDPOINT_URL_S3`` /
  ``AWS_ENDPOINT_URL`` (so that an S3-compatible server such as MinIO or moto works, and training jobs that
  are subprocesses see the same one).
- :func:`check_readable` and :func:`check_writable` raise a :class:`~hyperjob.errors.SpecError` with one line
  that says what is wrong (unknown scheme, missing package, missing credentials, bucket not found, no
  permission, nothing at that URL) and how to fix it, before any training job starts.
- :func:`fetch` copies a remote file or folder into a local cache folder once, keyed by the URL and what the
  remote says about its content (etag, size, mtime of every file), and reuses it afterwards. Two tuners that
  fetch the same URL at the same time are safe: each downloads into its own temporary folder and renames it
  into place; the loser of the rename uses the winner's copy.

The cache folder is ``HYPERJOB_CACHE_DIR`` when set, else ``$XDG_CACHE_HOME/hyperjob`` (``~/.cache/hyperjob``).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import tempfile
import uuid
from pathlib import Path
from typing import Any, Mapping

from hyperjob.errors import SpecError

__all__ = [
    "is_url",
    "scheme_of",
    "filesystem",
    "storage_options",
    "check_readable",
    "check_writable",
    "fetch",
    "cache_dir",
]

_URL = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*)://")

# The package fsspec needs for a scheme, and the extra of hyperjob that installs it.
_PACKAGES: dict[str, tuple[str, str]] = {
    "s3": ("s3fs", "pip install 'hyperjob[s3]' (or pip install s3fs)"),
    "s3a": ("s3fs", "pip install 'hyperjob[s3]' (or pip install s3fs)"),
    "gs": ("gcsfs", "pip install gcsfs"),
    "gcs": ("gcsfs", "pip install gcsfs"),
    "az": ("adlfs", "pip install adlfs"),
    "abfs": ("adlfs", "pip install adlfs"),
    "abfss": ("adlfs", "pip install adlfs"),
    "hf": ("huggingface_hub", "pip install huggingface_hub"),
}


def scheme_of(text: str) -> str | None:
    """The scheme of a URL (lower case), or ``None`` for a local path (``file://`` counts as local)."""
    match = _URL.match(str(text))
    if not match:
        return None
    scheme = match.group(1).lower()
    return None if scheme in ("file", "local") else scheme


def is_url(text: str | os.PathLike[str]) -> bool:
    """``True`` for ``scheme://...`` with a scheme other than ``file``: something fsspec must read."""
    return scheme_of(os.fspath(text)) is not None


def local_path(text: str) -> str:
    """A local path from ``text`` (``file:///x`` becomes ``/x``)."""
    return re.sub(r"^(file|local)://", "", text) if re.match(r"^(file|local)://", text) else text


def _endpoint(options: Mapping[str, Any]) -> str | None:
    explicit = options.get("endpoint_url") or (options.get("client_kwargs") or {}).get("endpoint_url")
    if explicit:
        return str(explicit)
    return os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or None


def storage_options(url: str, options: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The fsspec storage options hyperjob uses for ``url``: ``options`` plus, for S3, the endpoint."""
    opts: dict[str, Any] = dict(options or {})
    scheme = scheme_of(url)
    if scheme in ("s3", "s3a"):
        endpoint = _endpoint(opts)
        opts.pop("endpoint_url", None)
        if endpoint:
            client_kwargs = dict(opts.get("client_kwargs") or {})
            client_kwargs["endpoint_url"] = endpoint
            opts["client_kwargs"] = client_kwargs
    return opts


def _import_fsspec(url: str) -> Any:
    try:
        import fsspec
    except ImportError:  # pragma: no cover - fsspec comes with the s3 extra
        raise SpecError(f"{url}: reading URLs needs fsspec, which is not installed. Install it: "
                        f"pip install 'hyperjob[s3]'.") from None
    return fsspec


def filesystem(url: str, options: Mapping[str, Any] | None = None) -> tuple[Any, str]:
    """The fsspec filesystem for ``url`` and the path inside it.

    Raises:
        SpecError: an unknown scheme, or the scheme's package is not installed (naming its install command).
    """
    fsspec = _import_fsspec(url)
    scheme = scheme_of(url)
    if scheme is None:
        raise SpecError(f"{url!r} is a local path, not a URL; hyperjob reads it directly.")
    from fsspec.registry import known_implementations

    if scheme not in known_implementations and scheme not in getattr(fsspec.registry, "registry", {}):
        raise SpecError(
            f"{url}: unknown URL scheme {scheme!r}. Use a local path or a URL fsspec can read "
            f"(s3://bucket/prefix, gs://..., memory://...)."
        )
    try:
        fs, path = fsspec.core.url_to_fs(url, **storage_options(url, options))
    except ImportError as exc:
        package, install = _PACKAGES.get(scheme, (str(exc.name or scheme), f"pip install {exc.name or scheme}"))
        raise SpecError(f"{url}: reading {scheme}:// URLs needs the package {package!r}, which is not "
                        f"installed. Install it: {install}.") from None
    except (ValueError, TypeError) as exc:
        raise SpecError(f"{url}: cannot open this URL ({_short(exc)}). Check its spelling "
                        f"(e.g. s3://bucket/prefix).") from None
    return fs, path


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 200 else text[:197] + "..."


def _explain(url: str, exc: BaseException, action: str) -> SpecError:
    """One line for an error fsspec (or the scheme's library) raised while ``action``-ing ``url``."""
    name = type(exc).__name__
    text = _short(exc)
    low = f"{name} {text}".lower()
    if "nocredentials" in low or "unable to locate credentials" in low or "partialcredentials" in low:
        return SpecError(f"{url}: no credentials to {action} it. Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY "
                         f"(or AWS_PROFILE), or run where an IAM role is available.")
    if "nosuchbucket" in low or "bucket does not exist" in low or "specified bucket does not exist" in low:
        bucket = url.split("://", 1)[1].split("/", 1)[0]
        return SpecError(f"{url}: the bucket {bucket!r} does not exist (at "
                         f"{os.environ.get('AWS_ENDPOINT_URL') or 'the default endpoint'}). Check the bucket's "
                         f"name, the region and AWS_ENDPOINT_URL.")
    if isinstance(exc, PermissionError) or "accessdenied" in low or "forbidden" in low or "403" in text:
        return SpecError(f"{url}: permission denied to {action} it ({text}). Give the credentials in use "
                         f"{'s3:GetObject and s3:ListBucket' if action == 'read' else 's3:PutObject'} on it, "
                         f"or use other credentials.")
    if "invalidaccesskeyid" in low or "signaturedoesnotmatch" in low:
        return SpecError(f"{url}: the credentials were refused ({text}). Check AWS_ACCESS_KEY_ID and "
                         f"AWS_SECRET_ACCESS_KEY.")
    if "could not connect" in low or "connect" in low and "endpoint" in low or isinstance(exc, ConnectionError):
        return SpecError(f"{url}: cannot reach the storage endpoint ({text}). Check the network and "
                         f"AWS_ENDPOINT_URL.")
    if isinstance(exc, FileNotFoundError):
        return SpecError(f"{url}: nothing at this URL. Check the path, or upload the data first.")
    return SpecError(f"{url}: cannot {action} it ({name}: {text}).")


def check_readable(url: str, options: Mapping[str, Any] | None = None) -> None:
    """Raise a one-line :class:`SpecError` unless something (a file or a non-empty folder) can be read at ``url``.

    Args:
        url: an fsspec URL (``s3://bucket/prefix``).
        options: storage options (e.g. ``{"endpoint_url": ...}``).
    """
    fs, path = filesystem(url, options)
    try:
        if fs.isfile(path):
            return
        entries = fs.ls(path, detail=False)
    except Exception as exc:  # noqa: BLE001 - every library error becomes one line
        raise _explain(url, exc, "read") from None
    if not entries:
        raise _explain(url, FileNotFoundError(url), "read")


def check_writable(url: str, options: Mapping[str, Any] | None = None) -> None:
    """Raise a one-line :class:`SpecError` unless a file can be written under ``url`` (a folder-like prefix).

    It writes and removes one small marker file (``.hyperjob-write-check-<random>``).
    """
    fs, path = filesystem(url, options)
    marker = f"{path.rstrip('/')}/.hyperjob-write-check-{uuid.uuid4().hex[:12]}"
    try:
        if fs.isfile(path):
            raise SpecError(f"{url}: this is a file, not a folder; give a folder-like prefix to write under.")
        with fs.open(marker, "wb") as handle:
            handle.write(b"ok")
        fs.rm(marker)
    except SpecError:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _explain(url, exc, "write") from None


def cache_dir() -> Path:
    """The folder under which :func:`fetch` keeps its copies."""
    explicit = os.environ.get("HYPERJOB_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "hyperjob"


def _listing(fs: Any, path: str, url: str) -> tuple[bool, list[dict[str, Any]]]:
    """``(is_file, entries)``: every file under ``path`` with name, size and etag/mtime."""
    try:
        if fs.isfile(path):
            return True, [fs.info(path)]
        found = fs.find(path, detail=True)
    except Exception as exc:  # noqa: BLE001
        raise _explain(url, exc, "read") from None
    entries = [info for info in found.values() if info.get("type", "file") == "file"]
    if not entries:
        raise _explain(url, FileNotFoundError(url), "read")
    return False, entries


def _identity(info: Mapping[str, Any]) -> list[Any]:
    version = info.get("ETag") or info.get("etag") or info.get("md5") or info.get("checksum")
    mtime = info.get("LastModified") or info.get("mtime") or info.get("last_modified") or info.get("updated")
    return [str(info.get("name", "")), info.get("size"), str(version) if version else None,
            str(mtime) if mtime else None]


def fetch(url: str, options: Mapping[str, Any] | None = None, cache: Path | str | None = None) -> Path:
    """A local copy of the file or folder at ``url``, downloaded once and reused while the remote is unchanged.

    The copy lives at ``<cache>/fetch/<key>/data`` where ``key`` hashes the URL and the name, size, etag and
    modification time of every remote file: a change on the remote gives a new key (a new download). For a
    file URL the result is that file's local copy; for a folder, the folder (same layout below it).

    Raises:
        SpecError: the URL cannot be read (one line, see :func:`check_readable`).
    """
    fs, path = filesystem(url, options)
    is_file, entries = _listing(fs, path, url)
    identity = json.dumps([url, is_file, sorted(_identity(e) for e in entries)], sort_keys=True, default=str)
    key = hashlib.sha256(identity.encode()).hexdigest()[:24]
    root = Path(cache) if cache is not None else cache_dir()
    final = root / "fetch" / key
    name = path.rstrip("/").rsplit("/", 1)[-1] or "data"
    result = final / "data" / name if is_file else final / "data"
    if (final / "complete.json").is_file():
        return result
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{key}-", dir=final.parent))
    try:
        base = path.rstrip("/")
        for info in entries:
            remote = str(info["name"])
            rel = name if is_file else remote[len(fs._strip_protocol(base)):].lstrip("/")
            if not rel or rel.startswith("..") or "/../" in f"/{rel}/":
                continue
            target = tmp / "data" / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            try:
                fs.get_file(remote, str(target))
            except Exception as exc:  # noqa: BLE001
                raise _explain(url, exc, "read") from None
        (tmp / "complete.json").write_text(json.dumps({"url": url, "files": len(entries)}))
        try:
            os.rename(tmp, final)
        except OSError:  # another process renamed its copy first: use that one
            if not (final / "complete.json").is_file():
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return result
