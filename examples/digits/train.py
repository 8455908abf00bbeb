"""A real training program for hyperjob's example: a small neural network on scikit-learn's digits.

It follows the training-job contract (and SageMaker's script mode): hyperparameters arrive as `--name value`
arguments, the model goes to SM_MODEL_DIR / HYPERJOB_MODEL_DIR, and metrics are printed every epoch, e.g.
`epoch 3: train_loss=0.2154 validation:accuracy=0.9611`. It runs on its own too:

    python examples/digits/train.py --learning_rate 0.01 --hidden_units 64 --epochs 10
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import time
import warnings

import numpy as np
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import train_test_split
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--learning_rate", type=float, default=1e-3)
    p.add_argument("--hidden_units", type=int, default=64)
    p.add_argument("--alpha", type=float, default=1e-4, help="L2 penalty")
    p.add_argument("--batch_size", type=int, default=64)
    p.add_argument("--activation", choices=["relu", "tanh", "logistic"], default="relu")
    p.add_argument("--epochs", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model_dir", default=os.environ.get("SM_MODEL_DIR", os.environ.get("HYPERJOB_MODEL_DIR", "model")))
    return p.parse_args()


def main() -> None:
    args = parse_args()
    x, y = load_digits(return_X_y=True)
    x_train, x_val, y_train, y_val = train_test_split(x, y, test_size=0.25, random_state=0, stratify=y)
    scaler = StandardScaler().fit(x_train)
    x_train, x_val = scaler.transform(x_train), scaler.transform(x_val)
    model = MLPClassifier(
        hidden_layer_sizes=(args.hidden_units,),
        activation=args.activation,
        alpha=args.alpha,
        learning_rate_init=args.learning_rate,
        batch_size=args.batch_size,
        random_state=args.seed,
    )
    classes = np.unique(y)
    start = time.time()
    for epoch in range(1, args.epochs + 1):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.partial_fit(x_train, y_train, classes=classes)  # one epoch of minibatches of batch_size
        accuracy = float(model.score(x_val, y_val))
        print(f"epoch {epoch}: train_loss={model.loss_:.4f} validation:accuracy={accuracy:.4f}", flush=True)
    os.makedirs(args.model_dir, exist_ok=True)
    with open(os.path.join(args.model_dir, "model.pkl"), "wb") as fh:
        pickle.dump({"scaler": scaler, "model": model}, fh)
    with open(os.path.join(args.model_dir, "summary.json"), "w") as fh:
        json.dump({"validation_accuracy": accuracy, "seconds": round(time.time() - start, 3)}, fh)


if __name__ == "__main__":
    main()
