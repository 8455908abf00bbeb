"""RecordIO read and write (no MXNet) and augmented manifest files in the built-in image classifier."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from hyperjob.algorithms.image_classification import recordio
from hyperjob.algorithms.image_classification.data import ImageDataError, ImageDataset, load_channel
from hyperjob.algorithms.image_classification.hyperparameters import parse_hyperparameters
from hyperjob.errors import SpecError


def hp(**extra):
    values = {"num_classes": 2, "num_training_samples": 4, "image_shape": "3,8,8", "epochs": 1, **extra}
    return parse_hyperparameters({k: str(v) for k, v in values.items()})


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    rng = np.random.default_rng(0)
    for c in ("a", "b"):
        (tmp_path / "imgs" / c).mkdir(parents=True)
        for i in range(2):
            Image.fromarray((rng.random((10, 12, 3)) * 255).astype("uint8")).save(tmp_path / "imgs" / c / f"{i}.png")
    return tmp_path


def test_pack_unpack_one_label_and_several() -> None:
    one = recordio.unpack(recordio.pack(3, b"IMG", id=7))
    assert (one.labels, one.id, one.image) == ((3.0,), 7, b"IMG")
    several = recordio.unpack(recordio.pack([0, 1, 1], b"X", id=2, id2=5))
    assert (several.labels, several.id, several.id2, several.image) == ((0.0, 1.0, 1.0), 2, 5, b"X")
    # the layout mxnet.recordio.pack writes: IRHeader 'IfQQ' then the image
    assert recordio.pack(1.0, b"Z", id=4) == struct.pack("<IfQQ", 0, 1.0, 4, 0) + b"Z"


def test_a_record_holding_the_magic_word_is_split_and_joined_back(tmp_path: Path) -> None:
    magic = struct.pack("<I", recordio.MAGIC)
    payloads = [b"abcd" + magic + b"efgh" + magic + b"ij", b"plain", magic, b"x" * 13]
    with recordio.RecordWriter(tmp_path / "m") as writer:
        for i, p in enumerate(payloads):
            writer.write(i, p)
    raw = (tmp_path / "m.rec").read_bytes()
    # the first record is written in three parts (cflag 1, 2, 3), without the magic words of its data
    words = [struct.unpack_from("<I", raw, 4 + 0)[0] >> 29]
    assert words == [1]
    offsets = recordio.read_offsets(tmp_path / "m.rec")  # from the .idx
    (tmp_path / "m.idx").unlink()
    assert recordio.read_offsets(tmp_path / "m.rec") == offsets  # by scanning: the same records
    with open(tmp_path / "m.rec", "rb") as f:
        assert [recordio.read_record(f, o) for o in offsets] == payloads
    assert len(raw) % 4 == 0


def test_im2rec_from_folders_then_read_by_the_classifier(folders: Path, tmp_path: Path) -> None:
    (tmp_path / "train").mkdir()
    rec = recordio.im2rec(tmp_path / "train" / "data", folders / "imgs")
    assert rec.is_file() and (tmp_path / "train" / "data.idx").is_file()
    data = load_channel("train", tmp_path / "train", hp())
    assert data.labels == (0, 0, 1, 1) and data.source == str(rec) and len(data.offsets) == 4
    item, label = ImageDataset(data, hp(), train=False)[2]
    assert tuple(item.shape) == (3, 8, 8) and int(label) == 1
    # the pixels are the image's own (centre crop of the PNG written into the record)
    png = np.asarray(Image.open(folders / "imgs" / "b" / "0.png").convert("RGB"))[1:9, 2:10]
    assert np.array_equal(item.permute(1, 2, 0).numpy(), png)


def test_im2rec_command_from_a_lst_with_multi_labels(folders: Path, tmp_path: Path) -> None:
    lst = tmp_path / "multi.lst"
    lst.write_text("0\t1\t0\ta/0.png\n1\t0\t1\tb/0.png\n2\t1\t1\tb/1.png\n")
    (tmp_path / "val").mkdir()
    proc = subprocess.run([sys.executable, "-m", "hyperjob.algorithms.image_classification.recordio",
                           str(tmp_path / "val" / "v"), str(folders / "imgs"), "--lst", str(lst)],
                          capture_output=True, text=True)
    assert proc.returncode == 0 and "3 records" in proc.stdout, proc.stderr
    data = load_channel("validation", tmp_path / "val", hp(multi_label=1))
    assert data.labels == ((1, 0), (0, 1), (1, 1))
    with pytest.raises(ImageDataError, match=r"multi_label 1 needs a 0/1 vector of num_classes 3 labels, got 2"):
        load_channel("validation", tmp_path / "val", hp(multi_label=1, num_classes=3))


def test_a_label_outside_num_classes_names_the_record(folders: Path, tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    with recordio.RecordWriter(tmp_path / "t" / "x") as writer:
        writer.write(0, recordio.pack(5, (folders / "imgs" / "a" / "0.png").read_bytes()))
    with pytest.raises(ImageDataError, match=r"x.rec: the record at byte 0: the label 5.0 is not a class index in 0..1"):
        load_channel("train", tmp_path / "t", hp())


def test_a_truncated_rec_is_one_clear_error(folders: Path, tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    recordio.im2rec(tmp_path / "t" / "x", folders / "imgs")
    raw = (tmp_path / "t" / "x.rec").read_bytes()
    (tmp_path / "t" / "x.rec").write_bytes(raw[: len(raw) - 40])
    (tmp_path / "t" / "x.idx").unlink()
    with pytest.raises(SpecError, match=r"x.rec: at byte \d+: the record announces \d+ bytes, .* truncated"):
        load_channel("train", tmp_path / "t", hp())


def test_two_rec_files_in_a_channel_are_refused(folders: Path, tmp_path: Path) -> None:
    (tmp_path / "t").mkdir()
    recordio.im2rec(tmp_path / "t" / "x", folders / "imgs")
    recordio.im2rec(tmp_path / "t" / "y", folders / "imgs")
    with pytest.raises(ImageDataError, match="has 2 RecordIO files"):
        load_channel("train", tmp_path / "t", hp())


def test_augmented_manifest(folders: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    chan = folders / "imgs"
    lines = [{"source-ref": "s3://bucket/any/prefix/0.png", "label": 1, "label-metadata": {"class-name": "b"}},
             {"source-ref": "a/1.png", "label": 0}]
    (chan / "a" / "0.png").rename(chan / "0.png")
    (chan / "train.manifest").write_text("\n".join(json.dumps(x) for x in lines) + "\n")
    data = load_channel("train", chan, hp())  # the one attribute beside source-ref is the label
    assert data.labels == (1, 0) and data.paths == (str(chan / "0.png"), str(chan / "a" / "1.png"))
    (chan / "train.manifest").write_text(json.dumps({"source-ref": "a/1.png", "cls": 1, "other": 0}) + "\n")
    with pytest.raises(ImageDataError, match=r"the label attribute 'class'.*HYPERJOB_LABEL_ATTRIBUTE"):
        load_channel("train", chan, hp())
    monkeypatch.setenv("HYPERJOB_LABEL_ATTRIBUTE", "cls")
    assert load_channel("train", chan, hp()).labels == (1,)
    (chan / "train.manifest").write_text(json.dumps({"source-ref": "a/1.png", "cls": [0, 1]}) + "\n")
    assert load_channel("train", chan, hp(multi_label=1)).labels == ((1, 1),)


def test_a_channel_that_is_one_manifest_or_rec_file(folders: Path, tmp_path: Path) -> None:
    chan = folders / "imgs"
    (chan / "one.manifest").write_text(json.dumps({"source-ref": "a/0.png", "class": 1}) + "\n")
    assert load_channel("train", chan / "one.manifest", hp()).labels == (1,)  # an S3Uri naming the file
    (tmp_path / "r").mkdir()
    rec = recordio.im2rec(tmp_path / "r" / "x", folders / "imgs")
    assert load_channel("train", rec, hp()).labels == (0, 0, 1, 1)
