"""Input data: image folders and SageMaker ``.lst`` files, decoded and augmented with Pillow in DataLoader workers.

Supported layouts of a channel directory (``train``, ``validation``):

- **Image folders**: one sub-folder per class (``train/cat/1.png``, ``train/dog/7.jpg``); the classes are the
  sorted folder names, and the validation folders must use the same names.
- **``.lst`` files** (SageMaker / MXNet ``im2rec``): one ``.lst`` file in the channel (or in a ``train_lst`` /
  ``validation_lst`` channel), each line ``index<TAB>label<TAB>relative/path.jpg``; with ``multi_label 1`` the
  labels are a 0/1 vector of ``num_classes`` columns (``index 1 0 1 0 path``). Paths are relative to the
  channel directory. Classes are named ``0`` .. ``num_classes - 1``.
- **RecordIO** (``.rec``, with or without its ``.idx``; SageMaker's ``application/x-recordio``): one ``.rec``
  file in the channel, read by :mod:`.recordio` (no MXNet needed); each record's header holds the label (or,
  with ``multi_label 1``, a 0/1 vector of ``num_classes`` labels) and the encoded image. Classes are named
  ``0`` .. ``num_classes - 1``. ``python -m hyperjob.algorithms.image_classification.recordio`` writes one.
- **Augmented manifest files** (SageMaker's ``application/x-image`` with ``AugmentedManifestFile``): one
  ``.manifest`` JSON-lines file in the channel; each line has ``source-ref`` (the image path, relative to the
  channel or absolute; an ``s3://`` URI is read by its last part under the channel) and a label attribute
  (``class``, or the ``AttributeNames`` second entry given as ``HYPERJOB_LABEL_ATTRIBUTE``): a number, or a
  list of class indexes for multi-label.

Every image is converted to RGB (or grayscale with ``image_shape`` 1,h,w), its shorter side resized to ``resize``
when set, then cropped to ``image_shape``: randomly (with a horizontal flip, and colour / affine changes for
``crop_color`` / ``crop_color_transform``) for training with ``augmentation_type`` set, centred otherwise. A
smaller image fails with an error naming it. Workers return ``uint8`` tensors; the training loop converts and
normalizes them on the device.
"""

from __future__ import annotations

import io
import math
import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch
from PIL import Image

from hyperjob.algorithms.image_classification.hyperparameters import ImageClassificationHyperparameters
from hyperjob.errors import SpecError

__all__ = ["DataSet", "ImageDataset", "load_channel", "ImageDataError"]

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".ppm", ".pgm")
SUPPORTED = ("image folders (one sub-folder per class), .lst files beside the images, a RecordIO .rec file, or an "
             "augmented .manifest file")


class ImageDataError(SpecError):
    """The input data is missing, in an unsupported format, or inconsistent with the hyperparameters."""


@dataclass(frozen=True)
class DataSet:
    """The images of one channel.

    Attributes:
        paths: absolute image paths.
        labels: a class index per image, or (multi-label) a 0/1 vector of ``num_classes`` per image.
        class_names: the names of the classes, in index order.
        source: how the channel was read (``image folders`` or the ``.lst`` file's path).
    """

    paths: tuple[str, ...]
    labels: tuple[Any, ...]
    class_names: tuple[str, ...]
    source: str
    #: RecordIO: the byte offset of each image's record in ``paths[i]`` (the ``.rec`` file); None for image files
    offsets: tuple[int, ...] | None = None

    def __len__(self) -> int:
        return len(self.paths)

    def label_counts(self, num_classes: int) -> np.ndarray:
        """Images per class (multi-label: images carrying each label)."""
        counts = np.zeros(num_classes, dtype=np.int64)
        for label in self.labels:
            if isinstance(label, tuple):
                counts += np.asarray(label, dtype=np.int64)
            else:
                counts[label] += 1
        return counts


def load_channel(
    name: str,
    directory: str | os.PathLike[str],
    hp: ImageClassificationHyperparameters,
    *,
    lst_directory: str | os.PathLike[str] | None = None,
    class_names: Sequence[str] | None = None,
) -> DataSet:
    """Find and read the images of a channel.

    Args:
        name: the channel's name, for messages (``train``, ``validation``).
        directory: the channel directory.
        hp: the hyperparameters (``num_classes``, ``multi_label``).
        lst_directory: a separate directory holding the ``.lst`` file (SageMaker's ``train_lst`` channel).
        class_names: the training classes; a validation channel of image folders must use the same names.

    Raises:
        ImageDataError: no images, an unsupported format, labels that do not fit ``num_classes``.
    """
    root = Path(directory)
    if root.is_file() and root.suffix.lower() in (".manifest", ".rec"):  # a channel that is one file (an S3Uri
        if root.suffix.lower() == ".rec":                                  # naming the file itself)
            return _read_recordio(name, root, hp)
        return _read_manifest(name, [root], root.parent, hp)
    if not root.is_dir():
        raise ImageDataError(
            f"the {name} channel {str(root)!r} is not a directory. Point the channel at a directory of "
            f"{SUPPORTED}.",
            path=f"channels.{name}",
        )
    lst_root = Path(lst_directory) if lst_directory is not None else root
    lst_files = sorted(lst_root.glob("*.lst"))
    if len(lst_files) > 1:
        raise ImageDataError(
            f"the {name} channel has {len(lst_files)} .lst files ({', '.join(p.name for p in lst_files)}); "
            "hyperjob reads one per channel. Keep one, or merge them.",
            path=f"channels.{name}",
        )
    if lst_files:
        return _read_lst(name, lst_files[0], root, hp)
    manifests = sorted(root.glob("*.manifest"))
    if manifests:
        return _read_manifest(name, manifests, root, hp)
    records = sorted(root.glob("*.rec"))
    if len(records) > 1:
        raise ImageDataError(
            f"the {name} channel has {len(records)} RecordIO files ({', '.join(p.name for p in records[:5])}); "
            "hyperjob reads one per channel. Keep one, or write them into one with "
            "python -m hyperjob.algorithms.image_classification.recordio.",
            path=f"channels.{name}",
        )
    if records:
        return _read_recordio(name, records[0], hp)
    if hp.multi_label:
        raise ImageDataError(
            f"multi_label 1 needs .lst files (a 0/1 label vector per image); the {name} channel {str(root)!r} "
            "has none. Write a .lst file beside the images (docs/image-classification.md shows the format).",
            path=f"channels.{name}",
        )
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not folders:
        raise ImageDataError(
            f"the {name} channel {str(root)!r} has no class folders and no .lst file. Supported: {SUPPORTED}.",
            path=f"channels.{name}",
        )
    names = tuple(p.name for p in folders)
    if class_names is None:
        if len(names) != hp.num_classes:
            raise ImageDataError(
                f"the {name} channel has {len(names)} class folders ({', '.join(names[:10])}), but num_classes is "
                f"{hp.num_classes}. Set num_classes {len(names)}, or fix the folders.",
                path="hyperparameters.num_classes",
            )
        index = {n: i for i, n in enumerate(names)}
    else:
        unknown = [n for n in names if n not in class_names]
        if unknown:
            raise ImageDataError(
                f"the {name} channel has class folders that training does not: {', '.join(unknown[:10])} "
                f"(training classes: {', '.join(class_names[:10])}). Use the same folder names in both channels.",
                path=f"channels.{name}",
            )
        index = {n: i for i, n in enumerate(class_names)}
        names = tuple(class_names)
    paths: list[str] = []
    labels: list[int] = []
    for folder in folders:
        for p in sorted(folder.rglob("*")):
            if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file():
                paths.append(str(p))
                labels.append(index[folder.name])
    if not paths:
        raise ImageDataError(
            f"the {name} channel's class folders hold no images (looked for {', '.join(IMAGE_EXTENSIONS)}). "
            "Put the images in the class folders.",
            path=f"channels.{name}",
        )
    return DataSet(tuple(paths), tuple(labels), names, "image folders")


def _label_of(values: Sequence[float], where: str, hp: ImageClassificationHyperparameters) -> Any:
    """A record's label(s) as the training loop takes them: a class index, or a 0/1 vector (multi_label)."""
    if hp.multi_label:
        if len(values) != hp.num_classes or any(v not in (0.0, 1.0) for v in values):
            raise ImageDataError(
                f"{where}: multi_label 1 needs a 0/1 vector of num_classes {hp.num_classes} labels, got "
                f"{len(values)} values {list(values)[:8]!r}. Write the records with one 0/1 label per class.",
                path="hyperparameters.multi_label")
        return tuple(int(v) for v in values)
    label = values[0]
    if not float(label).is_integer() or not 0 <= label < hp.num_classes:
        raise ImageDataError(
            f"{where}: the label {label!r} is not a class index in 0..{hp.num_classes - 1} (num_classes "
            f"{hp.num_classes}). Fix the label, or num_classes.", path="hyperparameters.num_classes")
    return int(label)


def _read_recordio(name: str, rec: Path, hp: ImageClassificationHyperparameters) -> DataSet:
    from hyperjob.algorithms.image_classification import recordio

    offsets = recordio.read_offsets(rec)
    if not offsets:
        raise ImageDataError(f"{rec} holds no records. Write it again (python -m "
                             "hyperjob.algorithms.image_classification.recordio).", path=f"channels.{name}")
    labels = []
    with open(rec, "rb") as f:
        for offset in offsets:
            where = f"{rec}: the record at byte {offset}"
            record = recordio.unpack(recordio.read_record(f, offset, str(rec)), where)
            labels.append(_label_of(record.labels, where, hp))
    return DataSet(tuple(str(rec) for _ in offsets), tuple(labels), tuple(str(i) for i in range(hp.num_classes)),
                   str(rec), offsets=tuple(offsets))


def _read_manifest(name: str, manifests: list[Path], root: Path, hp: ImageClassificationHyperparameters) -> DataSet:
    """An augmented manifest (JSON lines: ``source-ref`` and a label attribute), as SageMaker documents it."""
    import json

    if len(manifests) > 1:
        raise ImageDataError(f"the {name} channel has {len(manifests)} .manifest files; hyperjob reads one per "
                             "channel. Keep one, or merge them.", path=f"channels.{name}")
    manifest = manifests[0]
    attribute = os.environ.get("HYPERJOB_LABEL_ATTRIBUTE") or "class"
    paths: list[str] = []
    labels: list[Any] = []
    for number, line in enumerate(manifest.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        where = f"{manifest}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ImageDataError(f"{where}: not a JSON object ({exc.msg}). An augmented manifest has one JSON "
                                 "object per line.", path=f"channels.{name}") from None
        ref = item.get("source-ref") if isinstance(item, dict) else None
        keys = [k for k in item if k != "source-ref" and not k.endswith("-metadata")] if isinstance(item, dict) else []
        key = attribute if attribute in (item or {}) else (keys[0] if len(keys) == 1 else None)
        if not isinstance(ref, str) or key is None:
            raise ImageDataError(
                f"{where}: a line needs 'source-ref' and the label attribute {attribute!r} (the second of "
                f"AttributeNames; set HYPERJOB_LABEL_ATTRIBUTE to name another), got keys {sorted(item)[:6]}.",
                path=f"channels.{name}")
        value = item[key]
        if hp.multi_label:
            classes = value if isinstance(value, list) else [value]
            vector = [0.0] * hp.num_classes
            for c in classes:
                if not isinstance(c, (int, float)) or not 0 <= c < hp.num_classes:
                    raise ImageDataError(f"{where}: the class {c!r} is not in 0..{hp.num_classes - 1}.",
                                         path="hyperparameters.num_classes")
                vector[int(c)] = 1.0
            labels.append(_label_of(vector, where, hp))
        else:
            if not isinstance(value, (int, float)):
                raise ImageDataError(f"{where}: the label {value!r} of {key!r} is not a number (a class index).",
                                     path=f"channels.{name}")
            labels.append(_label_of([float(value)], where, hp))
        rel = ref.split("://", 1)[1].split("/", 1)[-1].rsplit("/", 1)[-1] if "://" in ref else ref
        path = Path(rel) if os.path.isabs(rel) else root / rel
        paths.append(str(path))
    missing = [p for p in paths[:1000] if not os.path.isfile(p)]
    if missing:
        raise ImageDataError(f"{manifest}: {len(missing)} of the first {min(len(paths), 1000)} images are missing, "
                             f"e.g. {missing[0]!r}. Put them in the channel (an s3:// source-ref is read by its "
                             "file name there).", path=f"channels.{name}")
    if not paths:
        raise ImageDataError(f"{manifest} lists no images.", path=f"channels.{name}")
    return DataSet(tuple(paths), tuple(labels), tuple(str(i) for i in range(hp.num_classes)), str(manifest))


def _read_lst(name: str, lst: Path, root: Path, hp: ImageClassificationHyperparameters) -> DataSet:
    paths: list[str] = []
    labels: list[Any] = []
    with open(lst, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.rstrip("\r\n").split("\t") if "\t" in line else line.split()
            where = f"{lst}:{number}"
            if len(parts) < 3:
                raise ImageDataError(
                    f"{where}: a .lst line needs an index, the label(s) and the image path separated by tabs, "
                    f"got {line.strip()!r}. Write e.g. '7<TAB>2<TAB>cat/7.jpg'.",
                    path=f"channels.{name}",
                )
            try:
                values = [float(v) for v in parts[1:-1]]
            except ValueError:
                raise ImageDataError(
                    f"{where}: the labels {parts[1:-1]!r} are not numbers. Write the class index (or a 0/1 vector "
                    "with multi_label 1) between the index and the path.",
                    path=f"channels.{name}",
                ) from None
            if hp.multi_label:
                if len(values) != hp.num_classes or any(v not in (0.0, 1.0) for v in values):
                    raise ImageDataError(
                        f"{where}: with multi_label 1 each line needs a 0/1 vector of num_classes ({hp.num_classes}) "
                        f"labels, got {len(values)} values {parts[1:-1][:8]!r}. Fix the .lst file or num_classes.",
                        path=f"channels.{name}",
                    )
                label: Any = tuple(int(v) for v in values)
            else:
                if len(values) != 1:
                    raise ImageDataError(
                        f"{where}: {len(values)} label columns, but multi_label is 0 (one class per image). Set "
                        "multi_label 1 for label vectors, or keep one label column.",
                        path=f"channels.{name}",
                    )
                v = values[0]
                if not v.is_integer() or not 0 <= v < hp.num_classes:
                    raise ImageDataError(
                        f"{where}: the label {parts[1]!r} is not a class index from 0 to {hp.num_classes - 1} "
                        f"(num_classes {hp.num_classes}). Fix the label or num_classes.",
                        path=f"channels.{name}",
                    )
                label = int(v)
            path = root / parts[-1].strip()
            paths.append(str(path))
            labels.append(label)
    if not paths:
        raise ImageDataError(f"{lst} lists no images. Fill it (index, label, path per line).",
                             path=f"channels.{name}")
    missing = [p for p in paths[:1000] if not os.path.isfile(p)]
    if missing:
        raise ImageDataError(
            f"{lst}: {len(missing)} of the first {min(len(paths), 1000)} images are missing, e.g. {missing[0]!r}. "
            f"Paths in a .lst file are relative to the channel directory {str(root)!r}.",
            path=f"channels.{name}",
        )
    return DataSet(tuple(paths), tuple(labels), tuple(str(i) for i in range(hp.num_classes)), str(lst))


# ---------------------------------------------------------------------------------------------------------------
# decoding and augmentation


class ImageDataset(torch.utils.data.Dataset):
    """Decodes, resizes, augments and crops one image per item: ``(uint8 tensor C x H x W, target)``.

    The target is a class index (``int64``) or, for multi-label, a ``float32`` 0/1 vector.
    """

    def __init__(self, data: DataSet, hp: ImageClassificationHyperparameters, *, train: bool) -> None:
        self.data = data
        self.channels, self.height, self.width = hp.image_shape
        self.resize = hp.resize
        self.augmentation = hp.augmentation_type if train else None
        self.multi_label = hp.multi_label

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        path = self.data.paths[index]
        if self.data.offsets is not None:
            image = self._load(self._record(path, self.data.offsets[index]), f"{path}@{self.data.offsets[index]}")
        else:
            image = self._load(path, path)
        if self.augmentation == "crop_color_transform":
            image = _random_affine(image)
        image = self._crop(image, path)
        if self.augmentation is not None and random.random() < 0.5:
            image = image.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
        if self.augmentation in ("crop_color", "crop_color_transform"):
            image = _random_color(image)
        array = np.asarray(image, dtype=np.uint8)
        tensor = torch.from_numpy(array.copy())
        tensor = tensor.unsqueeze(0) if tensor.ndim == 2 else tensor.permute(2, 0, 1).contiguous()
        label = self.data.labels[index]
        target = torch.tensor(label, dtype=torch.float32) if self.multi_label else torch.tensor(label)
        return tensor, target

    def __getstate__(self) -> dict[str, Any]:  # open RecordIO files stay in their process
        return {k: v for k, v in self.__dict__.items() if k != "_handles"}

    def _record(self, rec: str, offset: int) -> io.BytesIO:
        """The encoded image of the record at ``offset`` of ``rec`` (one open file per worker process)."""
        from hyperjob.algorithms.image_classification import recordio

        handles = self.__dict__.setdefault("_handles", {})
        key = (os.getpid(), rec)
        if key not in handles:
            handles[key] = open(rec, "rb")
        data = recordio.read_record(handles[key], offset, rec)
        return io.BytesIO(recordio.unpack(data, f"{rec}: the record at byte {offset}").image)

    def _load(self, source: Any, path: str) -> Image.Image:
        try:
            with Image.open(source) as im:
                if self.resize is not None and im.format == "JPEG":
                    # let the JPEG decoder scale down by 1/2, 1/4 or 1/8 while it decodes, never below the size
                    # the resize needs (the shorter side stays >= resize)
                    scale = self.resize / min(im.size)
                    im.draft("RGB" if self.channels == 3 else "L",
                             (math.ceil(im.size[0] * scale), math.ceil(im.size[1] * scale)))
                image = im.convert("RGB" if self.channels == 3 else "L")
        except (OSError, ValueError) as exc:
            raise ImageDataError(f"cannot decode the image {path!r}: {exc}. Remove or replace the file.") from None
        if self.resize is not None:
            w, h = image.size
            scale = self.resize / min(w, h)
            image = image.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
        return image

    def _crop(self, image: Image.Image, path: str) -> Image.Image:
        w, h = image.size
        if w < self.width or h < self.height:
            after = f" after resize {self.resize}" if self.resize is not None else ""
            raise ImageDataError(
                f"the image {path!r} is {w}x{h} pixels{after}, smaller than image_shape "
                f"{self.channels},{self.height},{self.width} (height {self.height}, width {self.width}). Use a "
                f"smaller image_shape, or set resize to at least {max(self.height, self.width)} to enlarge the "
                "images.",
                path="hyperparameters.image_shape",
            )
        if self.augmentation is not None:
            left, top = random.randint(0, w - self.width), random.randint(0, h - self.height)
        else:
            left, top = (w - self.width) // 2, (h - self.height) // 2
        if (w, h) == (self.width, self.height):
            return image
        return image.crop((left, top, left + self.width, top + self.height))


def _random_color(image: Image.Image) -> Image.Image:
    """Shift hue by a random angle in [-36, 36] degrees, saturation and lightness by random amounts in [-50, 50]
    (0-255 scale), as SageMaker's ``crop_color`` does in HSL space.

    It runs as one affine colour matrix in RGB (``Image.convert`` with a matrix, in C; about 10 times faster than
    converting to HSV and back): the hue turns about the grey axis (the luminance-preserving hue rotation of SVG's
    ``feColorMatrix``), saturation is scaled by ``1 + shift / 128`` away from grey, and the lightness shift is
    added to every channel, which shifts HSL lightness by exactly that amount (up to clipping).
    """
    dl = random.uniform(-50, 50)
    if image.mode == "L":
        return image.point([min(255, max(0, round(i + dl))) for i in range(256)])
    angle = math.radians(random.uniform(-36, 36))
    saturation = max(0.0, 1.0 + random.uniform(-50, 50) / 128.0)
    c, s = math.cos(angle), math.sin(angle)
    hue = np.array([
        [0.213 + c * 0.787 - s * 0.213, 0.715 - c * 0.715 - s * 0.715, 0.072 - c * 0.072 + s * 0.928],
        [0.213 - c * 0.213 + s * 0.143, 0.715 + c * 0.285 + s * 0.140, 0.072 - c * 0.072 - s * 0.283],
        [0.213 - c * 0.213 - s * 0.787, 0.715 - c * 0.715 + s * 0.715, 0.072 + c * 0.928 + s * 0.072],
    ])
    grey = np.array([0.213, 0.715, 0.072])
    sat = (1 - saturation) * np.tile(grey, (3, 1)) + saturation * np.eye(3)
    m = sat @ hue
    matrix = tuple(float(v) for row in m for v in (*row, dl))
    return image.convert("RGB", matrix)


def _random_affine(image: Image.Image) -> Image.Image:
    """Rotate up to 10 degrees, shear up to 0.1 and change the aspect ratio up to 25%, about the centre."""
    angle = math.radians(random.uniform(-10, 10))
    shear = random.uniform(-0.1, 0.1)
    aspect = random.uniform(1 - 0.25, 1 + 0.25)
    sx, sy = math.sqrt(aspect), 1 / math.sqrt(aspect)
    cos, sin = math.cos(angle), math.sin(angle)
    # forward map A = R @ Shear @ Scale; Pillow wants the inverse (output -> input)
    a = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1, shear], [0, 1]]) @ np.diag([sx, sy])
    inv = np.linalg.inv(a)
    w, h = image.size
    cx, cy = w / 2, h / 2
    offset = np.array([cx, cy]) - inv @ np.array([cx, cy])
    coeffs = (inv[0, 0], inv[0, 1], offset[0], inv[1, 0], inv[1, 1], offset[1])
    return image.transform(image.size, Image.Transform.AFFINE, coeffs, resample=Image.Resampling.BILINEAR)
