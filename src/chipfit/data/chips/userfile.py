"""Write into a user's chip file without losing what the user wrote.

``chipfit probe`` writes a new file; ``chipfit calibrate`` sets one chip's (or unit's)
``efficiency`` block. The block is spliced into the text where the YAML node tree places it,
so every other line (comments, order, quoting) stays byte for byte; the result is validated
against the schema before an atomic replace (a temporary file in the same folder, then
``os.replace``), so a crash or a schema error leaves the old file as it was.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from chipfit.core.datafile import load, parse, read_text
from chipfit.core.errors import ChipfitError
from chipfit.core.fileio import write_atomic
from chipfit.data.chips import schema_context as ctx
from chipfit.data.chips.schema import ChipFile


def _get(mapping: yaml.MappingNode, key: str):
    return next(((k, v) for k, v in mapping.value if k.value == key), (None, None))


def _target(root, chip_id: str, unit_id: str | None, origin: str) -> yaml.MappingNode:
    _, chips = _get(root, "chips") if isinstance(root, yaml.MappingNode) else (None, None)
    for node in chips.value if isinstance(chips, yaml.SequenceNode) else []:
        if isinstance(node, yaml.MappingNode) and (_get(node, "id")[1] or yaml.ScalarNode("", "")).value == chip_id:
            if unit_id is None:
                return node
            _, units = _get(node, "units")
            for u in units.value if isinstance(units, yaml.SequenceNode) else []:
                if isinstance(u, yaml.MappingNode) and (_get(u, "id")[1] or yaml.ScalarNode("", "")).value == unit_id:
                    return u
    where = chip_id if unit_id is None else f"{chip_id}:{unit_id}"
    raise ChipfitError(f"{origin}: no chip '{where}' in this file")


def _end_line(node) -> int:
    """The index of the line after ``node``'s last character. A block collection's own end mark
    is where the next token starts (maybe further down, after a sibling's dash), so follow its
    last child down to a scalar or flow node."""
    while isinstance(node, (yaml.MappingNode, yaml.SequenceNode)) and not node.flow_style and node.value:
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    return node.end_mark.line + (1 if node.end_mark.column > 0 else 0)


def set_efficiency(text: str, origin: str, chip_id: str, unit_id: str | None, block: dict) -> str:
    """``text`` with the chip's (or unit's) ``efficiency`` set to ``block``; all else unchanged."""
    root, _ = parse(text, origin)
    node = _target(root, chip_id, unit_id, origin)
    if node.flow_style:
        raise ChipfitError(f"{origin}, line {node.start_mark.line + 1}: the chip is written in flow style "
                           f"({{...}}); write it as a block mapping for calibrate to add its efficiency")
    indent = node.value[0][0].start_mark.column
    body = yaml.safe_dump({"efficiency": block}, sort_keys=False, width=100, allow_unicode=True)
    body = "".join(" " * indent + line + "\n" for line in body.splitlines())
    key, value = _get(node, "efficiency")
    lines = text.splitlines(keepends=True)
    if key is not None:   # replace the old block: from its key's line to the line its value ends on
        start, end = key.start_mark.line, _end_line(value)
    else:                 # append after the chip's last value
        start = end = _end_line(node.value[-1][1])
    if start > len(lines) or (lines and not lines[-1].endswith("\n") and end >= len(lines)):
        lines[-1:] = [lines[-1] + "\n"] if lines else []
    new = "".join(lines[:start]) + body + "".join(lines[end:])
    load(ChipFile, new, origin, schema_context())   # never write a file that would not load
    return new


def schema_context() -> dict:
    return ctx()


def set_efficiency_in_file(path: str | Path, chip_id: str, unit_id: str | None, block: dict) -> None:
    text = read_text(path)
    write_atomic(path, set_efficiency(text, str(path), chip_id, unit_id, block), overwrite=True)
