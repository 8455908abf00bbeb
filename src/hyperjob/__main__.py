"""``python -m hyperjob``: the command line."""

from hyperjob.cli.app import main

main()
