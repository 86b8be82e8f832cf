"""Every hook and every public API name is documented for plugin authors."""

from __future__ import annotations

from pathlib import Path

import matexplore
from matexplore import hookspecs

DOC = (Path(__file__).resolve().parents[2] / "docs" / "plugins.md").read_text()


def test_every_hookspec_is_documented():
    hooks = [n for n in dir(hookspecs) if n.startswith("matexplore_")]
    assert hooks
    for name in hooks:
        assert f"`{name}()`" in DOC, f"hook {name} is not documented in docs/plugins.md"
        assert getattr(hookspecs, name).__doc__, f"hook {name} has no docstring"


def test_every_public_name_is_documented():
    internal = {"__version__", "Params", "ParamError", "Series", "Cancelled"}
    for name in set(matexplore.__all__) - internal:
        assert name in DOC, f"matexplore.{name} is not mentioned in docs/plugins.md"


def test_every_activation_field_is_documented():
    from dataclasses import fields

    from matexplore import Activation

    for f in fields(Activation):
        assert f"`{f.name}`" in DOC, f"Activation.{f.name} is not documented in docs/plugins.md"
    assert "unnormalised" in DOC and "kinks=(" in DOC
