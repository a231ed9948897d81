"""``python -m xbarsim.experiments.sweep RUN --threads T``: the process of one sweep run (see worker.py)."""
import sys

from .worker import main

if __name__ == "__main__":
    sys.exit(main())
