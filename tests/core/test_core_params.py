"""Parameter parsing and validation: every rejection is one sentence naming the
parameter, what is allowed and what was given."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from matexplore.params import (Bool, Choice, Float, FloatList, Int, IntList, ParamError, Seed,
                               resolve_params)


def test_int_parses_and_bounds():
    p = Int(5, ge=1, le=10)
    assert p.parse("depth", "7") == 7
    assert p.parse("depth", "1e1") == 10
    for bad in ("abc", "0", "11", "2.5", "inf", ""):
        with pytest.raises(ParamError) as err:
            p.parse("depth", bad)
        msg = str(err.value)
        assert "'depth'" in msg and "an integer in [1, 10]" in msg and repr(bad) in msg
        assert "\n" not in msg


def test_width_negative_message():
    with pytest.raises(ParamError, match=r"Parameter 'width' must be an integer in \[1, 4096\]; "
                                         r"got '-3'\."):
        Int(16, ge=1, le=4096).parse("width", "-3")


def test_exclusive_bounds_and_inf():
    p = Float(1.0, gt=0, allow_inf=True)
    assert p.parse("sigma", "inf") == math.inf
    assert p.parse("sigma", "1e-9") == 1e-9
    with pytest.raises(ParamError, match=r"\(0, inf\)"):
        p.parse("sigma", "0")
    with pytest.raises(ParamError):
        Float(1.0).parse("x", "nan")
    assert Int(4, ge=1, allow_inf=True).validate("depth", "inf") == math.inf


def test_bool_choice_seed():
    assert Bool(False).parse("c", "yes") is True
    assert Bool(True).parse("c", "off") is False
    with pytest.raises(ParamError, match="true or false"):
        Bool(False).parse("c", "maybe")
    c = Choice(["relu", "tanh"], default="relu")
    with pytest.raises(ParamError, match=r"did you mean 'tanh'"):
        c.parse("activation", "tanhh")
    assert Seed().parse("seed", "") is None
    assert Seed().parse("seed", "42") == 42
    with pytest.raises(ParamError):
        Seed().parse("seed", "-1")


def test_lazy_choices_follow_registration():
    names = ["a"]
    c = Choice(lambda: names, default="a")
    names.append("b")
    assert c.parse("act", "b") == "b"


def test_lists():
    p = IntList([1, 2], ge=1)
    assert p.parse("n", "1, 2,4") == [1, 2, 4]
    with pytest.raises(ParamError, match="comma-separated list of at least 1 integers in \\[1, inf\\)"):
        p.parse("n", "1,0")
    with pytest.raises(ParamError):
        p.parse("n", "")
    assert FloatList([0.5], min_len=2, max_len=2).validate("a0", [1, 2.5]) == [1.0, 2.5]
    with pytest.raises(ParamError, match="exactly 2"):
        FloatList([0.5, 1], min_len=2, max_len=2).parse("a0", "1,2,3")


def test_resolve_params_unknown_name_suggests():
    specs = {"depth": Int(3, ge=1), "width": Int(8, ge=1)}
    with pytest.raises(ParamError, match=r"Unknown parameter 'dept' \(did you mean 'depth'\?\)"):
        resolve_params(specs, texts={"dept": "3"})
    p = resolve_params(specs, {"width": 16}, texts={"depth": "5"})
    assert (p.depth, p["width"]) == (5, 16)


@given(st.integers(min_value=-10**6, max_value=10**6))
def test_int_format_parse_roundtrip(v):
    p = Int(0)
    assert p.parse("x", p.format(v)) == v


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_float_format_parse_roundtrip(v):
    p = Float(0.0)
    assert p.parse("x", p.format(v)) == v


@given(st.text(max_size=20))
def test_parse_never_raises_other_errors(text):
    for p in (Int(1, ge=0), Float(1.0), Bool(False), Choice(["a"], default="a"),
              IntList([1]), FloatList([1.0]), Seed()):
        try:
            p.parse("x", text)
        except ParamError:
            pass
