"""The YAML reader gives the same data, the same lines and the same refusals with libyaml's parser
(the fast path) as with PyYAML's pure-Python one (where PyYAML was built without libyaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chipfit.core import datafile
from chipfit.core.errors import ChipfitError

pytestmark = pytest.mark.skipif(not datafile.FAST, reason="this PyYAML has no libyaml: only one parser to compare")

SHIPPED = sorted((Path(datafile.__file__).resolve().parents[1] / "data").rglob("*.yaml"))


def both(monkeypatch, text: str):
    """What :func:`datafile.parse` gives (or the sentence it refuses with), fast path then Python path."""
    out = []
    for fast in (True, False):
        monkeypatch.setattr(datafile, "FAST", fast)
        try:
            root, data = datafile.parse(text, "f.yaml")
            out.append(("ok", data, _lines(root)))
        except ChipfitError as exc:
            out.append(("refused", str(exc)))
    return out


def _lines(node, path=()) -> list:
    """(path, first line) of every node of the tree, as the error messages find them."""
    if node is None:
        return []
    out = [(path, node.start_mark.line)]
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            out += _lines(v, path + (k.value,))
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            out += _lines(v, path + (i,))
    return out


def test_the_shipped_files_read_the_same_with_both_parsers(monkeypatch):
    assert len(SHIPPED) >= 20
    for path in SHIPPED:
        fast, slow = both(monkeypatch, path.read_text(encoding="utf-8"))
        assert fast[0] == "ok" and fast == slow, path.name
        assert datafile.shipped(path.read_text(encoding="utf-8")) == fast[1], path.name


DEEP = "a:\n" + "".join(" " * i + "- \n" for i in range(1, 200))
AT_THE_CAP = "".join(" " * i + "- \n" for i in range(63))   # 63 nested lists, the last holding a null: 64 levels
OVER_THE_CAP = "".join(" " * i + "- \n" for i in range(64))  # 65 levels


@pytest.mark.parametrize("text, words", [
    ("a: &x 1\nb: *x\n", "line 1: YAML anchors and aliases"),
    ("a: 1\nb: [2, &y 3]\n", "line 2: YAML anchors and aliases"),
    ("a: !!python/name:os.system\n", "the YAML tag !!python/name:os.system is not allowed"),
    ("a:\n  b: !custom 3\n", "line 2: a.b: the YAML tag !custom is not allowed"),
    ("name: \x1b\n", "not valid YAML"),
    ("a: [1, 2\nb: 3\n", "not valid YAML"),
    ("a: 1\n\tb: 2\n", "not valid YAML"),
    ("a: 1\na: 2\n", None),                    # a repeated key: both keep the last value
    (DEEP, "nests deeper than 64 levels"),
    (AT_THE_CAP, None),
    (OVER_THE_CAP, "line 64: the YAML nests deeper than 64 levels"),
    ("", None),
    ("- 1\n- 2.5\n- 2026-12-05\n- null\n- yes\n- 0x1f\n", None),
])
def test_both_parsers_accept_and_refuse_alike(monkeypatch, text, words):
    fast, slow = both(monkeypatch, text)
    if words is None:
        assert fast[0] == "ok", fast
    else:
        assert fast[0] == "refused" and words in fast[1], fast
    if "not valid YAML" == words:   # each parser words its syntax errors its own way
        assert slow[0] == "refused" and words in slow[1]
    else:
        assert fast == slow
