"""``python -m xbarsim``: the command-line interface (see ``python -m xbarsim --help``)."""
from .cli.main import main

raise SystemExit(main())
