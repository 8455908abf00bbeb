"""``python -m hyperjob.algorithms.image_classification``: run a training job (see :mod:`.program`)."""

from hyperjob.algorithms.image_classification.program import main

if __name__ == "__main__":
    raise SystemExit(main())
