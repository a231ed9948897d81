"""Command-line interface of xbarsim."""
