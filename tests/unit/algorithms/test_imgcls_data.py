"""Image-classification input data: image folders, .lst files (multi-label too), RecordIO refusal, crops."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from hyperjob.algorithms.image_classification.data import ImageDataError, ImageDataset, load_channel
from hyperjob.algorithms.image_classification.hyperparameters import parse_hyperparameters

torch.set_num_threads(1)


def hp(**values: object):
    return parse_hyperparameters({"num_classes": 3, "num_training_samples": 6, "image_shape": "3,8,8", **values})


def write_image(path: Path, size: tuple[int, int] = (12, 10), value: int = 0) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    array = np.full((size[1], size[0], 3), value, dtype=np.uint8)
    array[:, : size[0] // 2, 0] = 255  # left half red: shows flips and crops
    Image.fromarray(array).save(path)


@pytest.fixture
def folders(tmp_path: Path) -> Path:
    for c, name in enumerate(["cat", "dog", "owl"]):
        for i in range(2):
            write_image(tmp_path / "train" / name / f"{i}.png", value=40 * c)
    return tmp_path / "train"


def test_image_folders(folders: Path) -> None:
    data = load_channel("train", folders, hp())
    assert data.class_names == ("cat", "dog", "owl")
    assert len(data) == 6 and sorted(data.labels) == [0, 0, 1, 1, 2, 2]
    assert data.label_counts(3).tolist() == [2, 2, 2]


def test_folders_must_match_num_classes_and_training_classes(folders: Path, tmp_path: Path) -> None:
    with pytest.raises(ImageDataError, match=r"has 3 class folders \(cat, dog, owl\), but num_classes is 4. Set "
                                             r"num_classes 3"):
        load_channel("train", folders, hp(num_classes=4))
    write_image(tmp_path / "validation" / "cow" / "0.png")
    with pytest.raises(ImageDataError, match="class folders that training does not: cow"):
        load_channel("validation", tmp_path / "validation", hp(), class_names=("cat", "dog", "owl"))
    # a validation channel with fewer classes uses the training indices
    write_image(tmp_path / "val2" / "owl" / "0.png")
    assert load_channel("validation", tmp_path / "val2", hp(), class_names=("cat", "dog", "owl")).labels == (2,)


def test_lst_file(tmp_path: Path) -> None:
    for i in range(3):
        write_image(tmp_path / "train" / "img" / f"{i}.jpg")
    (tmp_path / "train" / "train.lst").write_text("0\t2\timg/0.jpg\n1\t0.000000\timg/1.jpg\n\n2\t1\timg/2.jpg\n")
    data = load_channel("train", tmp_path / "train", hp())
    assert data.labels == (2, 0, 1) and data.class_names == ("0", "1", "2")
    assert data.paths[0] == str(tmp_path / "train" / "img" / "0.jpg")


def test_lst_in_its_own_channel(tmp_path: Path) -> None:
    write_image(tmp_path / "images" / "a.png")
    (tmp_path / "lst").mkdir()
    (tmp_path / "lst" / "x.lst").write_text("0\t1\ta.png\n")
    assert load_channel("train", tmp_path / "images", hp(), lst_directory=tmp_path / "lst").labels == (1,)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        ("0\t3\ta.png\n", r"train.lst:1: the label '3' is not a class index from 0 to 2"),
        ("0\ta.png\n", r"train.lst:1: a .lst line needs an index, the label\(s\) and the image path"),
        ("0\tcat\ta.png\n", r"train.lst:1: the labels \['cat'\] are not numbers"),
        ("0\t1\t0\ta.png\n", r"train.lst:1: 2 label columns, but multi_label is 0"),
        ("0\t1\tmissing.png\n", r"1 of the first 1 images are missing, e.g. .*missing.png"),
    ],
)
def test_lst_errors(tmp_path: Path, content: str, match: str) -> None:
    write_image(tmp_path / "train" / "a.png")
    (tmp_path / "train" / "train.lst").write_text(content)
    with pytest.raises(ImageDataError, match=match):
        load_channel("train", tmp_path / "train", hp())


def test_multi_label_lst(tmp_path: Path) -> None:
    for i in range(2):
        write_image(tmp_path / "train" / f"{i}.png")
    (tmp_path / "train" / "train.lst").write_text("0\t1\t0\t1\t0.png\n1\t0\t1\t1\t1.png\n")
    h = hp(multi_label=1)
    data = load_channel("train", tmp_path / "train", h)
    assert data.labels == ((1, 0, 1), (0, 1, 1))
    assert data.label_counts(3).tolist() == [1, 1, 2]
    image, target = ImageDataset(data, h, train=False)[1]
    assert target.dtype == torch.float32 and target.tolist() == [0.0, 1.0, 1.0]
    (tmp_path / "train" / "train.lst").write_text("0\t1\t0\t0.png\n")
    with pytest.raises(ImageDataError, match=r"needs a 0/1 vector of num_classes \(3\) labels, got 2 values"):
        load_channel("train", tmp_path / "train", h)


def test_multi_label_needs_lst(folders: Path) -> None:
    with pytest.raises(ImageDataError, match="multi_label 1 needs .lst files"):
        load_channel("train", folders, hp(multi_label=1))


def test_a_rec_file_that_is_not_recordio_names_the_file_and_byte(tmp_path: Path) -> None:
    from hyperjob.errors import SpecError

    (tmp_path / "train").mkdir()
    (tmp_path / "train" / "train.rec").write_bytes(b"\x00" * 16)
    with pytest.raises(SpecError, match=r"train.rec: at byte 0: 0x00000000 where a record starts with the magic"):
        load_channel("train", tmp_path / "train", hp())


def test_missing_or_empty_channel(tmp_path: Path) -> None:
    with pytest.raises(ImageDataError, match="is not a directory"):
        load_channel("train", tmp_path / "nope", hp())
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageDataError, match="no class folders and no .lst file"):
        load_channel("train", tmp_path / "empty", hp())


def test_centre_crop_without_augmentation(folders: Path) -> None:
    data = load_channel("train", folders, hp())
    image, label = ImageDataset(data, hp(), train=False)[0]
    assert image.dtype == torch.uint8 and tuple(image.shape) == (3, 8, 8)
    # the 12x10 image, centre-cropped to 8x8: columns 2..9, the left half (red) is columns 0..5 -> 4 red columns
    red = image[0, 0].tolist()
    assert red == [255, 255, 255, 255, 0, 0, 0, 0]
    # validation data is never augmented, even with augmentation_type set
    again, _ = ImageDataset(data, hp(augmentation_type="crop"), train=False)[0]
    assert torch.equal(image, again)


def test_random_crops_and_flips_with_augmentation(folders: Path) -> None:
    h = hp(augmentation_type="crop")
    dataset = ImageDataset(load_channel("train", folders, h), h, train=True)
    rows = {tuple(dataset[0][0][0, 0].tolist()) for _ in range(40)}
    assert len(rows) > 2  # several offsets and both orientations
    assert any(r[0] == 0 and r[-1] == 255 for r in rows)  # flipped: red on the right


@pytest.mark.parametrize("kind", ["crop_color", "crop_color_transform"])
def test_colour_and_affine_augmentation_keep_the_shape(folders: Path, kind: str) -> None:
    h = hp(augmentation_type=kind)
    dataset = ImageDataset(load_channel("train", folders, h), h, train=True)
    images = [dataset[3][0] for _ in range(5)]
    assert all(tuple(i.shape) == (3, 8, 8) and i.dtype == torch.uint8 for i in images)
    assert len({tuple(i.flatten().tolist()) for i in images}) > 1


def test_grayscale_and_resize(folders: Path) -> None:
    h = hp(image_shape="1,16,16", resize=20)
    image, _ = ImageDataset(load_channel("train", folders, h), h, train=False)[0]
    assert tuple(image.shape) == (1, 16, 16)


def test_an_image_smaller_than_image_shape_fails_clearly(folders: Path) -> None:
    h = hp(image_shape="3,32,32")
    dataset = ImageDataset(load_channel("train", folders, h), h, train=False)
    with pytest.raises(ImageDataError, match=r"is 12x10 pixels, smaller than image_shape 3,32,32.*set resize to at "
                                             r"least 32"):
        dataset[0]


def test_an_undecodable_image_is_named(tmp_path: Path) -> None:
    (tmp_path / "train" / "a").mkdir(parents=True)
    (tmp_path / "train" / "a" / "broken.png").write_bytes(b"not a png")
    h = hp(num_classes=1)
    dataset = ImageDataset(load_channel("train", tmp_path / "train", h), h, train=False)
    with pytest.raises(ImageDataError, match="cannot decode the image .*broken.png"):
        dataset[0]


def test_colour_shift_keeps_grey_grey_and_moves_lightness() -> None:
    import random

    from hyperjob.algorithms.image_classification.data import _random_color

    grey = Image.fromarray(np.full((4, 4, 3), 100, dtype=np.uint8))
    shifts = set()
    for seed in range(20):
        random.seed(seed)
        out = np.asarray(_random_color(grey), dtype=np.int16)
        assert np.abs(out - out[..., :1]).max() <= 1  # hue and saturation do not colour a grey pixel
        shifts.add(int(out[0, 0, 0]) - 100)
    assert min(shifts) < -10 and max(shifts) > 10 and all(-51 <= s <= 51 for s in shifts)
    red = Image.fromarray(np.tile(np.array([200, 40, 40], dtype=np.uint8), (4, 4, 1)))
    random.seed(3)
    assert not np.array_equal(np.asarray(_random_color(red)), np.asarray(red))
