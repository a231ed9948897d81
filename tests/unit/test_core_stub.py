"""The type stub of the native module and the typing marker ship with the package and stay in sync.

``python/xbarsim/_core.pyi`` is generated from ``xbarsim._core`` itself (``python -m
xbarsim.ops._stubgen``): regenerating it must give the checked-in file, so a changed binding (a
renamed ``py::arg``, a new function) fails here until the stub is regenerated.
"""
from __future__ import annotations

import ast
import pathlib

import xbarsim
from xbarsim.ops import _stubgen

PACKAGE = pathlib.Path(xbarsim.__file__).resolve().parent


def test_stub_matches_the_native_module():
    stub = PACKAGE / "_core.pyi"
    assert stub.is_file(), "python/xbarsim/_core.pyi is missing: python -m xbarsim.ops._stubgen > it"
    assert stub.read_text() == _stubgen.generate(), \
        "the bindings changed: regenerate with python -m xbarsim.ops._stubgen > python/xbarsim/_core.pyi"


def test_stub_is_valid_python_and_names_every_public_function():
    tree = ast.parse((PACKAGE / "_core.pyi").read_text())
    declared = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef))}
    public = {n for n in dir(xbarsim._core) if not n.startswith("_") and callable(getattr(xbarsim._core, n))}
    assert public <= declared


def test_package_is_marked_typed():
    assert (PACKAGE / "py.typed").is_file()
