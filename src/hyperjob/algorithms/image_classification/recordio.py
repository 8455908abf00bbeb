"""MXNet RecordIO (``.rec`` / ``.idx``) as SageMaker's image classification reads it: read and write, no MXNet.

The format (dmlc-core ``recordio.h`` and ``mxnet.recordio``), all little-endian:

- A ``.rec`` file is a sequence of records. Each record is the magic word ``0xced7230a`` (uint32), a
  length/flag word (uint32: the low 29 bits are the length of the data that follows, the high 3 bits the
  ``cflag``), the data, and zero padding to a multiple of 4 bytes. ``cflag`` 0 is a whole record; a record
  whose data holds the magic word at a 4-byte-aligned position is split there into parts with ``cflag`` 1
  (first), 2 (middle) and 3 (last), the magic word itself left out and put back by the reader.
- The data of an image record (``mxnet.recordio.pack``) is an ``IRHeader``: ``flag`` (uint32), ``label``
  (float32), ``id`` (uint64), ``id2`` (uint64), then, when ``flag > 0``, ``flag`` float32 labels (a multi-label
  vector, or several labels), then the encoded image (JPEG, PNG...).
- A ``.idx`` file (optional) has one line per record, ``key<TAB>byte offset``. Without it the ``.rec`` file is
  scanned once.

:func:`im2rec` writes a ``.rec``/``.idx`` pair from a folder of class sub-folders or from a ``.lst`` file (as
MXNet's ``tools/im2rec.py`` does), so that tests and users can make their own:
``python -m hyperjob.algorithms.image_classification.recordio PREFIX ROOT [--lst FILE] [--resize N]``.
"""

from __future__ import annotations

import argparse
import io
import os
import struct
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Sequence

from hyperjob.errors import SpecError

__all__ = ["MAGIC", "RecordIOError", "Record", "pack", "unpack", "read_offsets", "read_record", "RecordWriter",
           "im2rec"]

MAGIC = 0xCED7230A
_MAGIC_BYTES = struct.pack("<I", MAGIC)
_LENGTH_MASK = (1 << 29) - 1
_HEADER = struct.Struct("<IfQQ")  # flag, label, id, id2


class RecordIOError(SpecError):
    """A ``.rec`` / ``.idx`` file that is not valid RecordIO (the message names the file and the byte offset)."""


@dataclass(frozen=True)
class Record:
    """One image record: its label(s), ids and encoded image bytes."""

    labels: tuple[float, ...]
    id: int
    id2: int
    image: bytes


def pack(labels: float | Sequence[float], image: bytes, id: int = 0, id2: int = 0) -> bytes:
    """The data of an image record (``IRHeader`` + labels + image), as ``mxnet.recordio.pack`` writes it.

    One label goes in the header (``flag`` 0); several (or a one-element list) follow it as float32s.
    """
    if isinstance(labels, (int, float)):
        return _HEADER.pack(0, float(labels), id, id2) + image
    values = [float(v) for v in labels]
    return _HEADER.pack(len(values), 0.0, id, id2) + struct.pack(f"<{len(values)}f", *values) + image


def unpack(data: bytes, where: str = "record") -> Record:
    """Split a record's data into its header, labels and image (``mxnet.recordio.unpack``)."""
    if len(data) < _HEADER.size:
        raise RecordIOError(f"{where}: the record has {len(data)} bytes, fewer than its {_HEADER.size}-byte "
                            "header. The file is truncated or not an image RecordIO file.")
    flag, label, rid, rid2 = _HEADER.unpack_from(data)
    rest = data[_HEADER.size:]
    if flag > 0:
        if len(rest) < 4 * flag:
            raise RecordIOError(f"{where}: the header announces {flag} labels but the record is too short. The "
                                "file is truncated or not an image RecordIO file.")
        labels = struct.unpack_from(f"<{flag}f", rest)
        rest = rest[4 * flag:]
    else:
        labels = (label,)
    return Record(tuple(float(v) for v in labels), int(rid), int(rid2), bytes(rest))


def _read_part(f: BinaryIO, path: str) -> tuple[int, bytes] | None:
    offset = f.tell()
    head = f.read(8)
    if not head:
        return None
    if len(head) < 8:
        raise RecordIOError(f"{path}: at byte {offset}: {len(head)} stray bytes at the end of the file. The file "
                            "is truncated.")
    magic, word = struct.unpack("<II", head)
    if magic != MAGIC:
        raise RecordIOError(f"{path}: at byte {offset}: 0x{magic:08x} where a record starts with the magic word "
                            f"0x{MAGIC:08x}. This is not a RecordIO file (or the .idx offset is wrong).")
    cflag, length = word >> 29, word & _LENGTH_MASK
    data = f.read(length)
    if len(data) < length:
        raise RecordIOError(f"{path}: at byte {offset}: the record announces {length} bytes, the file has "
                            f"{len(data)} left. The file is truncated.")
    f.seek((4 - length % 4) % 4, os.SEEK_CUR)
    return cflag, data


def read_record(f: BinaryIO, offset: int, path: str = "file") -> bytes:
    """The data of the record that starts at byte ``offset`` (its parts joined)."""
    f.seek(offset)
    part = _read_part(f, path)
    if part is None:
        raise RecordIOError(f"{path}: no record at byte {offset}, past the end of the file. Check the .idx file.")
    cflag, data = part
    if cflag == 0:
        return data
    if cflag != 1:
        raise RecordIOError(f"{path}: at byte {offset}: a record continues here (cflag {cflag}) instead of "
                            "starting. Check the .idx file.")
    chunks = [data]
    while True:
        part = _read_part(f, path)
        if part is None:
            raise RecordIOError(f"{path}: the record at byte {offset} has no last part. The file is truncated.")
        cflag, data = part
        chunks.append(_MAGIC_BYTES)
        chunks.append(data)
        if cflag == 3:
            return b"".join(chunks)
        if cflag != 2:
            raise RecordIOError(f"{path}: the record at byte {offset} is interrupted by a new one. The file is "
                                "damaged.")


def read_offsets(rec: str | os.PathLike[str]) -> list[int]:
    """The byte offset of every record of ``rec``: from ``<rec without .rec>.idx`` when it exists, else by
    scanning the file once."""
    rec = Path(rec)
    idx = rec.with_suffix(".idx")
    if idx.is_file():
        offsets = []
        for number, line in enumerate(idx.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            parts = line.split("\t") if "\t" in line else line.split()
            try:
                offsets.append(int(parts[1]))
            except (IndexError, ValueError):
                raise RecordIOError(f"{idx}:{number}: an .idx line is 'key<TAB>offset', got {line[:60]!r}. Fix "
                                    "the file, or delete it (the .rec file is then scanned).") from None
        return offsets
    offsets = []
    with open(rec, "rb") as f:
        while True:
            offset = f.tell()
            part = _read_part(f, str(rec))
            if part is None:
                return offsets
            if part[0] in (0, 1):
                offsets.append(offset)


def iter_records(rec: str | os.PathLike[str]) -> Iterator[Record]:
    """Every image record of ``rec``, in file order."""
    with open(rec, "rb") as f:
        for offset in read_offsets(rec):
            yield unpack(read_record(f, offset, str(rec)), f"{rec}: record at byte {offset}")


class RecordWriter:
    """Writes a ``.rec`` file and its ``.idx`` (``mxnet.recordio.MXIndexedRecordIO`` in write mode)."""

    def __init__(self, prefix: str | os.PathLike[str]) -> None:
        self.rec_path = Path(f"{prefix}.rec")
        self.idx_path = Path(f"{prefix}.idx")
        self._rec = open(self.rec_path, "wb")
        self._idx = open(self.idx_path, "w", encoding="utf-8")

    def write(self, key: int, data: bytes) -> None:
        """Append one record (split at aligned magic words, as dmlc's writer does) and its index line."""
        self._idx.write(f"{key}\t{self._rec.tell()}\n")
        cuts = [i for i in range(0, len(data) - 3, 4) if data[i:i + 4] == _MAGIC_BYTES]
        starts = [0] + [c + 4 for c in cuts]
        ends = cuts + [len(data)]
        for n, (a, b) in enumerate(zip(starts, ends)):
            cflag = 0 if len(starts) == 1 else 1 if n == 0 else 3 if n == len(starts) - 1 else 2
            chunk = data[a:b]
            self._rec.write(struct.pack("<II", MAGIC, (cflag << 29) | len(chunk)))
            self._rec.write(chunk)
            self._rec.write(b"\0" * ((4 - len(chunk) % 4) % 4))

    def close(self) -> None:
        self._rec.close()
        self._idx.close()

    def __enter__(self) -> "RecordWriter":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


_IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")


def _list_folder(root: Path) -> list[tuple[int, list[float], str]]:
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not classes:
        raise SpecError(f"{root} has no class sub-folders. Give a folder with one sub-folder per class, or --lst.")
    items = []
    for label, name in enumerate(classes):
        for p in sorted((root / name).rglob("*")):
            if p.is_file() and p.suffix.lower() in _IMAGE_EXTENSIONS:
                items.append((len(items), [float(label)], p.relative_to(root).as_posix()))
    return items


def _read_lst(lst: Path) -> list[tuple[int, list[float], str]]:
    items = []
    for number, line in enumerate(lst.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        if len(parts) < 3:
            raise SpecError(f"{lst}:{number}: a .lst line is 'index<TAB>label(s)<TAB>path', got {line[:60]!r}.")
        try:
            items.append((int(float(parts[0])), [float(v) for v in parts[1:-1]], parts[-1]))
        except ValueError:
            raise SpecError(f"{lst}:{number}: the index and labels must be numbers, got {line[:60]!r}.") from None
    return items


def im2rec(prefix: str | os.PathLike[str], root: str | os.PathLike[str], *, lst: str | os.PathLike[str] | None = None,
           resize: int | None = None, quality: int = 95) -> Path:
    """Write ``<prefix>.rec`` and ``<prefix>.idx`` from the images under ``root``.

    Args:
        prefix: the output path without suffix.
        root: a folder of class sub-folders (classes are the sorted names, labels ``0..n-1``), or, with ``lst``,
            the folder the ``.lst`` paths are relative to.
        lst: a ``.lst`` file (``index<TAB>label(s)<TAB>path``); several labels make a multi-label record.
        resize: scale each image so that its shorter side is ``resize`` pixels, re-encoded as JPEG (default:
            the file's bytes unchanged).
        quality: JPEG quality when re-encoding.

    Returns:
        The ``.rec`` path.
    """
    root = Path(root)
    items = _read_lst(Path(lst)) if lst is not None else _list_folder(root)
    with RecordWriter(prefix) as writer:
        for index, labels, rel in items:
            path = root / rel
            image = path.read_bytes()
            if resize is not None:
                from PIL import Image

                with Image.open(path) as im:
                    im = im.convert("RGB")
                    scale = resize / min(im.size)
                    im = im.resize((max(1, round(im.size[0] * scale)), max(1, round(im.size[1] * scale))))
                    buf = io.BytesIO()
                    im.save(buf, format="JPEG", quality=quality)
                    image = buf.getvalue()
            label: float | list[float] = labels[0] if len(labels) == 1 else labels
            writer.write(index, pack(label, image, id=index))
    return Path(f"{prefix}.rec")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m hyperjob.algorithms.image_classification.recordio PREFIX ROOT [--lst FILE] [--resize N]``."""
    parser = argparse.ArgumentParser(prog="python -m hyperjob.algorithms.image_classification.recordio",
                                     description="Write PREFIX.rec and PREFIX.idx (MXNet RecordIO) from images.")
    parser.add_argument("prefix", help="output path without .rec")
    parser.add_argument("root", help="folder of class sub-folders, or the folder a --lst file's paths start from")
    parser.add_argument("--lst", help="a .lst file: index<TAB>label(s)<TAB>relative path")
    parser.add_argument("--resize", type=int, help="shorter side in pixels (re-encodes as JPEG)")
    args = parser.parse_args(argv)
    try:
        rec = im2rec(args.prefix, args.root, lst=args.lst, resize=args.resize)
    except (SpecError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(f"wrote {rec} and {rec.with_suffix('.idx')}: {len(read_offsets(rec))} records")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
