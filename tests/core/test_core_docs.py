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


def _reference_sections() -> dict[str, str]:
    """The '### `Name`' sections of the reference (section 7) by name."""
    ref = DOC.split("## 7. Reference", 1)[1]
    out = {}
    for part in ref.split("\n### ")[1:]:
        head, _, body = part.partition("\n")
        out[head.strip().strip("`")] = body
    return out


def _documented(section: str, names) -> list[str]:
    return [n for n in names if f"`{n}`" not in section and f"`{n}(" not in section]


def test_every_field_of_the_api_dataclasses_is_documented():
    import dataclasses

    from matexplore import Activation, Check, Chunk, Compare, Frame, Plot, Series, Table

    sections = _reference_sections()
    for cls in (Frame, Table, Series, Plot, Compare, Check, Chunk, Activation):
        names = [f.name for f in dataclasses.fields(cls)]
        names += [n for n, v in vars(cls).items() if isinstance(v, property)]
        missing = _documented(sections[cls.__name__], names)
        assert not missing, f"{cls.__name__} fields not in its reference section: {missing}"


def test_every_experiment_attribute_and_run_context_member_is_documented():
    from matexplore import Experiment, RunContext, RunningStats

    sections = _reference_sections()
    exp_fields = [n for n in Experiment.__annotations__] + ["run"]
    assert not _documented(sections["Experiment"], exp_fields)
    ctx = RunContext(1)
    members = [n for n in dir(RunContext) if not n.startswith("_")] + \
              [n for n in vars(ctx) if not n.startswith("_")]
    missing = _documented(sections["RunContext"], set(members))
    assert not missing, f"RunContext members not documented: {missing}"
    stats = [n for n in dir(RunningStats) if not n.startswith("_")] + \
            [n for n in vars(RunningStats()) if not n.startswith("_")]
    assert not _documented(sections["RunningStats"], set(stats))


def test_every_parameter_type_and_argument_is_documented():
    import inspect

    from matexplore import params

    section = _reference_sections()["Parameter types"]
    for cls in (params.Int, params.Float, params.Bool, params.Choice, params.IntList,
                params.FloatList, params.Seed):
        row = next((line for line in section.splitlines()
                    if line.startswith(f"| `{cls.__name__}` |")), None)
        assert row is not None, f"{cls.__name__} has no row in the parameter reference"
        args = [a for a in inspect.signature(cls).parameters if a != "self"]
        if "as `IntList`" in row:
            continue
        missing = [a for a in args if f"`{a}" not in row]
        assert not missing, f"{cls.__name__} arguments not documented: {missing}"


def test_every_activation_field_is_documented():
    from dataclasses import fields

    from matexplore import Activation

    for f in fields(Activation):
        assert f"`{f.name}`" in DOC, f"Activation.{f.name} is not documented in docs/plugins.md"
    assert "unnormalised" in DOC and "kinks=(" in DOC
