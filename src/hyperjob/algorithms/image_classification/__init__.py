"""The built-in image-classification algorithm: SageMaker's hyperparameters (seed 003), ResNets in plain torch.

Run it in a tuning job with ``program: {algorithm: image-classification, channels: {train: ..., validation:
...}}``, or by hand::

    python -m hyperjob.algorithms.image_classification --num_classes 10 --num_training_samples 50000 \\
        --image_shape 3,32,32 --num_layers 20 --train data/train --validation data/validation

Modules: :mod:`.hyperparameters` (the table, validation and tuning defaults; no torch), :mod:`.data` (image
folders and ``.lst`` files, Pillow decoding and augmentation), :mod:`.models` (ResNets), :mod:`.training` (the
loop, metrics, early stopping, checkpoints), :mod:`.program` (the command line). ``docs/image-classification.md``
is the user's guide. Importing this package is cheap: torch loads only with the training modules.
"""
