"""Programs the tests run in processes of their own, by path (see support/cli.py)."""

from pathlib import Path

PROGRAMS = Path(__file__).resolve().parent
