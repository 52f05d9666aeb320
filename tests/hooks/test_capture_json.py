"""The native hook's JSON + UTF-8 check agrees with Python's json module (strict RFC 8259).

capture.c is compiled as a shared library and its classifier (``hl_classify``) is called
through ctypes on hand-picked edge cases and on property-based inputs: valid documents in
many spellings, mutated documents, token soup and arbitrary bytes. The reference is
``hooks.spool.classify`` (``bytes.decode('utf-8')`` + ``json.loads`` with NaN/Infinity
rejected), itself checked against plain ``json.loads``.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hooks import envelope
from hooks.spool import MAX_DEPTH, classify

SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def native(lib, raw: bytes) -> str | None:
    out = lib.hl_classify(raw, len(raw))
    return out.decode() if out is not None else None


EDGE_CASES = [
    b"{}",
    b" {} ",
    b'{"a":1}',
    b'{"a":-0}',
    b'{"a":0.5e+10}',
    b'{"a":1E-2}',
    b'{"a":01}',
    b'{"a":1.}',
    b'{"a":.5}',
    b'{"a":-}',
    b'{"a":+1}',
    b'{"a":1e}',
    b'{"a":0x10}',
    b'{"a":NaN}',
    b'{"a":Infinity}',
    b'{"a":-Infinity}',
    b'{"a":true,"b":false,"c":null}',
    b'{"a":tru}',
    b'{"a":nul}',
    b'{"a":[1,2,]}',
    b'{"a":1,}',
    b'{,}',
    b'{"a" 1}',
    b'{"a":1 "b":2}',
    b"{'a':1}",
    b'{"a":"\\u00e9\\ud800\\udc00\\ud800"}',
    b'{"a":"\\u00g0"}',
    b'{"a":"\\x41"}',
    b'{"a":"\\/\\b\\f\\n\\r\\t\\"\\\\"}',
    b'{"a":"tab\there"}',
    b'{"a":"nl\nhere"}',
    b'{"a":"\x7f"}',
    b'{"a":"\x00"}',
    b'{"a":1}\x00',
    b'{"a":"caf\xc3\xa9 \xf0\x9d\x84\x9e"}',
    b'{"a":"\xc0\xaf"}',
    b'{"a":"\xe0\x80\xaf"}',
    b'{"a":"\xed\xa0\x80"}',
    b'{"a":"\xf4\x90\x80\x80"}',
    b'{"a":"\xf8\x88\x80\x80\x80"}',
    b'{"a":"\xc3"}',
    b'{"a":"\x80"}',
    b"\xef\xbb\xbf{}",
    b"\x0c{}",
    b"{}\x0b",
    b'{"a":1}{"b":2}',
    b'{"a":1} x',
    b"[]",
    b"null",
    b'"s"',
    b"1",
    b"",
    b"   ",
    b"\n\r\t ",
    b"{" * 5,
    b'{"a":' * MAX_DEPTH + b"1" + b"}" * MAX_DEPTH,
    b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1),
    b"[" * MAX_DEPTH + b"]" * MAX_DEPTH,
    b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1),
    b'{"a":' + b"[" * (MAX_DEPTH - 1) + b"]" * (MAX_DEPTH - 1) + b"}",
    b'{"a":' + b"[" * MAX_DEPTH + b"]" * MAX_DEPTH + b"}",
    b"[" * 5000 + b"]" * 5000,
    b'{"n":' + b"9" * 10000 + b"}",
    b'{"n":1e999999}',
    b'{"\xff":1}',
]


@pytest.mark.parametrize("raw", EDGE_CASES, ids=range(len(EDGE_CASES)))
def test_edge_cases_agree(native_lib, raw: bytes) -> None:
    assert native(native_lib, raw) == classify(raw)


def test_depth_limit_is_exact() -> None:
    ok = b"[" * MAX_DEPTH + b"]" * MAX_DEPTH
    assert classify(ok) == envelope.DEFECT_NOT_OBJECT
    assert classify(b"[" + ok + b"]") == envelope.DEFECT_INVALID_JSON


def _reference(raw: bytes) -> str | None:
    """Plain json.loads as oracle (for inputs without depth or digit-limit concerns)."""
    if not raw.strip(b" \t\r\n"):
        return envelope.DEFECT_EMPTY
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return envelope.DEFECT_INVALID_UTF8
    try:
        obj = json.loads(text, parse_constant=lambda c: (_ for _ in ()).throw(ValueError(c)))
    except ValueError:
        return envelope.DEFECT_INVALID_JSON
    return None if isinstance(obj, dict) else envelope.DEFECT_NOT_OBJECT


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=25,
)


@st.composite
def json_documents(draw) -> bytes:
    value = draw(json_values | st.dictionaries(st.text(max_size=8), json_values, max_size=5))
    indent = draw(st.sampled_from([None, 0, 1, 2, "\t", "\r\n"]))
    seps = draw(st.sampled_from([(",", ":"), (", ", ": "), (" ,\n", " :\r")]))
    text = json.dumps(value, indent=indent, separators=seps, ensure_ascii=draw(st.booleans()))
    pad = draw(st.sampled_from(["", " ", "\n", "\r\n\t "]))
    return (pad + text + pad).encode("utf-8", "surrogatepass")


@SETTINGS
@given(json_documents())
def test_valid_documents_agree(native_lib, raw: bytes) -> None:
    expected = classify(raw)
    assert native(native_lib, raw) == expected
    assert expected == _reference(raw)


@st.composite
def mutated(draw) -> bytes:
    data = bytearray(draw(json_documents()))
    alphabet = b'{}[]:,"\\ \n-+.eE0123456789tfnu\x00\x1f\x7f\x80\xc3\xa9\xed\xff'
    for _ in range(draw(st.integers(1, 4))):
        op = draw(st.sampled_from(["insert", "delete", "replace"]))
        pos = draw(st.integers(0, len(data)))
        byte = draw(st.sampled_from(alphabet))
        if op == "insert":
            data.insert(pos, byte)
        elif data and pos < len(data):
            if op == "delete":
                del data[pos]
            else:
                data[pos] = byte
    return bytes(data)


@SETTINGS
@given(mutated())
def test_mutated_documents_agree(native_lib, raw: bytes) -> None:
    expected = classify(raw)
    assert native(native_lib, raw) == expected
    assert expected == _reference(raw)


TOKENS = [
    b"{", b"}", b"[", b"]", b":", b",", b'"', b"\\", b"\\u", b"00e9", b"0", b"1", b"-", b".", b"e", b"E", b"+",
    b"true", b"fals", b"false", b"null", b" ", b"\n", b"\r", b'"a"', b'"k":', b"\x1f", b"\xc3\xa9", b"\xed\xa0\x80",
    b"\xff", b"NaN", b"Infinity", b"\xef\xbb\xbf",
]


@SETTINGS
@given(st.lists(st.sampled_from(TOKENS), max_size=30).map(b"".join))
def test_token_soup_agrees(native_lib, raw: bytes) -> None:
    expected = classify(raw)
    assert native(native_lib, raw) == expected
    assert expected == _reference(raw)


@SETTINGS
@given(st.binary(max_size=200))
def test_arbitrary_bytes_agree(native_lib, raw: bytes) -> None:
    assert native(native_lib, raw) == classify(raw)


def test_valid_object_is_none_and_numbers_are_not_converted() -> None:
    assert classify(b'{"a": 1e400, "b": ' + b"7" * 20000 + b"}") is None
