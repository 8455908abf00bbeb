"""``python -m hyperjob.algorithms.graph``: the graph training program (see :mod:`.train`)."""

import sys

from hyperjob.algorithms.graph.train import main

if __name__ == "__main__":
    sys.exit(main())
