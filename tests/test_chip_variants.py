"""Memory sizes (``ID:16gb``), power modes (``ID@15W``, ``--power-mode``) and the memory an OS
keeps on a unified-memory board, on a chip file written here so the expected numbers are
the test's own arithmetic."""

from __future__ import annotations

import json

import pytest

from chipfit.core.errors import ChipfitError
from chipfit.data.chips import ChipRef, database, select

BOARD = """
vendor: Me
sources:
  sheet: {title: "my board's datasheet", date: "2026-11"}
  clocks: {title: "my board's clock table", date: "2026-11"}
chips:
  - id: my-board
    name: My board
    category: edge
    units:
      - id: gpu
        name: the GPU
        efficiency_class: nvidia-jetson-gpu
        dense:
          int8: {value: 40, source: sheet, flag: datasheet}
          fp16: {value: 20, source: sheet, flag: datasheet}
        sparse:
          int8: {value: 80, source: sheet, flag: datasheet}
      - id: dla
        name: the DLA
        efficiency_class: nvidia-dla
        dense:
          int8: {value: 10, source: sheet, flag: datasheet}
    memory_bandwidth_gbps: {value: 100, source: sheet, flag: datasheet}
    memory_gb: {value: 8, source: sheet, flag: datasheet}
    memory_options:
      - {memory_gb: {value: 8, source: sheet, flag: datasheet}}
      - memory_gb: {value: 16, source: sheet, flag: datasheet}
        memory_bandwidth_gbps: {value: 200, source: sheet, flag: datasheet}
    memory_reserved_gb: {value: 1.5, source: sheet, flag: datasheet}
    power_w: {value: 25, source: sheet, flag: datasheet}
    power_mode: MAXN
    power_modes:
      - {id: MAXN, power_w: {value: 25, source: sheet, flag: datasheet}}
      - id: 15W
        power_w: {value: 15, source: sheet, flag: datasheet}
        clock_scale:
          gpu: {value: 0.5, source: clocks, flag: derived, formula: "500 MHz / 1000 MHz"}
          dla: {value: 0.75, source: clocks, flag: derived, formula: "750 MHz / 1000 MHz"}
        memory_bandwidth_gbps: {value: 60, source: clocks, flag: derived, formula: "100 x 0.6 EMC clock"}
      - id: 7W
        power_w: {value: 7, source: sheet, flag: datasheet}
        clock_scale:
          gpu: {value: 0.25, source: clocks, flag: derived, formula: "250 MHz / 1000 MHz"}
"""


@pytest.fixture
def board(tmp_path):
    path = tmp_path / "board.yaml"
    path.write_text(BOARD)
    return str(path)


def test_a_reference_names_size_mode_and_unit_in_any_combination():
    assert ChipRef.parse("x") == ChipRef("x")
    assert ChipRef.parse("x:16gb@15W:dla") == ChipRef("x", "16gb", "15W", "dla")
    assert ChipRef.parse("x@15W:gpu+dla") == ChipRef("x", None, "15W", "gpu+dla")
    assert ChipRef.parse("x:all") == ChipRef("x", None, None, "all")
    assert str(ChipRef.parse("x:16gb@15W:dla")) == "x:16gb@15W:dla"


def test_a_memory_size_replaces_memory_and_its_own_bandwidth(board):
    db = database([board])
    rec, unit = db.get("my-board:16gb")
    assert rec.id == "my-board:16gb" and unit.id == "gpu"
    assert rec.chip.memory_gb.value == 16 and rec.chip.memory_bandwidth_gbps.value == 200
    assert rec.chip.usable_memory_gb == 16 - 1.5
    rec8, _ = db.get("my-board:8gb")
    assert rec8.chip.memory_bandwidth_gbps.value == 100   # the 8 GB option keeps the chip's bandwidth
    with pytest.raises(ChipfitError, match="not sold with 32gb; its sizes: 8gb, 16gb"):
        db.get("my-board:32gb")


def test_a_power_mode_scales_each_units_peaks_by_its_clock_ratio(board):
    db = database([board])
    rec, gpu = db.get("my-board@15W")
    assert rec.id == "my-board@15W"
    assert gpu.dense["int8"].value == 40 * 0.5 and gpu.dense["fp16"].value == 20 * 0.5
    assert gpu.sparse["int8"].value == 80 * 0.5
    assert gpu.dense["int8"].flag == "derived" and "0.5 clock ratio of mode 15W" in gpu.dense["int8"].formula
    _, dla = db.get("my-board@15W:dla")
    assert dla.dense["int8"].value == 10 * 0.75
    _, dla7 = db.get("my-board@7W:dla")
    assert dla7.dense["int8"].value == 10          # the 7W mode names no DLA clock: unchanged
    assert rec.chip.power_w.value == 15 and rec.chip.memory_bandwidth_gbps.value == 60
    listed, _ = db.get("my-board@maxn")
    assert listed.chip.units[0].dense["int8"].value == 40 and listed.chip.power_w.value == 25
    both, _ = db.get("my-board:16gb@7W")
    assert both.chip.memory_gb.value == 16 and both.chip.units[0].dense["int8"].value == 10
    with pytest.raises(ChipfitError, match="has no power mode '5W'; its modes: MAXN, 15W, 7W"):
        db.get("my-board@5W")


@pytest.mark.parametrize("change, error", [
    ("      - {memory_gb: {value: 8, source: sheet, flag: datasheet}}\n", "memory_gb \\(the default size\\) must be one"),
    ("    power_mode: MAXN\n", "power_mode \\(the mode the listed figures are at\\) must be one of"),
])
def test_the_schema_holds_the_default_size_and_mode_to_the_lists(tmp_path, change, error):
    path = tmp_path / "bad.yaml"
    path.write_text(BOARD.replace(change, ""))
    with pytest.raises(ChipfitError, match=error):
        database([str(path)])


def test_the_schema_refuses_a_clock_for_a_ratio_and_unknown_units(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(BOARD.replace("gpu: {value: 0.5,", "gpu: {value: 625,"))
    with pytest.raises(ChipfitError, match="a clock ratio, not a clock"):
        database([str(path)])
    text = BOARD.replace("          dla: {value: 0.75", "          npu: {value: 0.75")
    path.write_text(text)
    line = _line_of(text, "npu: {value: 0.75")
    # the sentence names the line of the field at fault, not the chip's
    with pytest.raises(ChipfitError, match=rf"bad.yaml, line {line}: "
                                           r"chips\[0\].power_modes\[1\].clock_scale.npu: "
                                           r"power mode 15W scales unknown units \['npu'\]"):
        database([str(path)])
    text = BOARD.replace("memory_reserved_gb: {value: 1.5", "memory_reserved_gb: {value: 8")
    path.write_text(text)
    with pytest.raises(ChipfitError, match=rf"line {_line_of(text, 'memory_reserved_gb:')}: chips\[0\].memory_reserved_gb: "
                                           "memory_reserved_gb must be below every memory size"):
        database([str(path)])


def _line_of(text: str, needle: str) -> int:
    """1-based line of the first line of ``text`` holding ``needle``."""
    return next(i for i, line in enumerate(text.splitlines(), 1) if needle in line)


def test_power_mode_option_equals_the_at_form_and_a_conflict_is_one_sentence(board, run_cli):
    rc1, at, _ = run_cli("check", "resnet18", "--chip", "my-board@15W", "--fps", "30", "--chips-file", board,
                         "--json")
    rc2, opt, _ = run_cli("check", "resnet18", "--chip", "my-board", "--power-mode", "15W", "--fps", "30",
                          "--chips-file", board, "--json")
    a, b = json.loads(at), json.loads(opt)
    assert a["chip"] == b["chip"] == "my-board@15W"
    assert a["max_fps"] == b["max_fps"]
    rc, out, _ = run_cli("check", "resnet18", "--chip", "my-board", "--fps", "30", "--chips-file", board, "--json")
    full = json.loads(out)
    assert a["max_fps"] < full["max_fps"]        # half the clocks and 60 % of the bandwidth: slower
    assert a["power_w"] == 15 and full["power_w"] == 25
    rc, out, err = run_cli("check", "resnet18", "--chip", "my-board@7W", "--power-mode", "15W", "--fps", "30",
                           "--chips-file", board)
    assert rc == 2 and "names power mode 7W, but --power-mode asks for 15W" in err
    assert "Traceback" not in err


def test_llm_memory_fit_uses_what_the_os_leaves(board, run_cli):
    rc, out, err = run_cli("llm", "llama-3.2-1b", "--chip", "my-board", "--chips-file", board, "--json")
    assert rc in (0, 1), err
    mem = json.loads(out)["memory_per_chip"]
    assert mem["capacity_bytes"] == int((8 - 1.5) * 1e9)
    assert mem["reserved_bytes"] == int(1.5 * 1e9)
    rc, text, _ = run_cli("llm", "llama-3.2-1b", "--chip", "my-board:16gb", "--chips-file", board)
    assert "less 1.5 GB the OS keeps" in " ".join(text.split())   # however the terminal wraps it


def test_check_names_the_reserve(board, run_cli):
    rc, out, _ = run_cli("check", "resnet18", "--chip", "my-board", "--fps", "30", "--chips-file", board, "--json")
    d = json.loads(out)
    assert d["memory_capacity_bytes"] == int(6.5e9)
    assert any("keep 1.5 GB of the 8 GB: 6.5 GB is usable" in n for n in d["notes"])


def test_rank_tries_each_mode_within_the_budget_and_the_smallest_size_that_fits(board):
    db = database([board])
    mine = [r for r in db if r.id == "my-board"]
    assert [r.id for r in select(mine, max_power=20)] == ["my-board@15W", "my-board@7W"]
    assert [r.id for r in select(mine, max_power=5)] == []
    assert [r.id for r in select(mine, min_memory_gb=12)] == ["my-board:16gb"]
    assert [r.id for r in select(mine, min_memory_gb=6)] == ["my-board"]
    assert [r.id for r in select(mine, power_mode="7W")] == ["my-board@7W"]
    assert [r.id for r in select(mine, min_memory_gb=12, max_power=10)] == ["my-board:16gb@7W"]


def test_rank_and_chips_show_them(board, run_cli):
    rc, out, err = run_cli("rank", "resnet18", "--fps", "1", "--max-power", "20", "--chips-file", board, "--json",
                           "--all")
    d = json.loads(out)
    ids = [r["chip"] for r in d["chips"] + d["insufficient"]]
    assert "my-board@15W" in ids and "my-board@7W" in ids and "my-board" not in ids
    rc, out, _ = run_cli("chips", "--chips-file", board)
    assert "8/16 GB" in out
    rc, out, _ = run_cli("chips", "my-board", "--chips-file", board)
    assert "power_modes.15W.clock_scale.gpu" in out and "memory_reserved_gb" in out


def test_a_jetson_mode_from_the_database_scales_the_peak_by_its_sourced_ratio(run_cli):
    rec, gpu = database().get("jetson-orin-nano-8gb")
    mode = next(m for m in rec.chip.power_modes if m.id == "7W")
    ratio = mode.clock_scale["gpu"]
    assert ratio.flag == "derived" and ratio.formula and 0 < ratio.value < 1
    rc, out, err = run_cli("check", "resnet50", "--chip", "jetson-orin-nano-8gb", "--power-mode", "7W", "--fps", "30",
                           "--json")
    assert rc == 0, err
    d = json.loads(out)
    assert d["chip_peak_tops"] == pytest.approx(gpu.dense["int8"].value * ratio.value)
    assert d["power_w"] == mode.power_w.value
    rc, out, _ = run_cli("check", "resnet50", "--chip", "jetson-orin-nano-8gb", "--power-mode", "7W", "--fps", "30",
                         "--explain", "--json")
    lines = {e["quantity"]: e["formula"] for e in json.loads(out)["explain"]}
    assert "clock ratio of mode 7W" in lines["peak at 7W"] and ratio.formula in lines["peak at 7W"]


@pytest.mark.parametrize("width", [80, 100, 200])
def test_rank_never_cuts_a_chip_id_and_says_which_columns_it_left_out(width):
    from rich.console import Console

    from chipfit import rank
    from chipfit.render.terminal.check import RANK_COLUMNS, rank_view

    res = rank("resnet18", fps=30, max_power=15, category="edge")
    console = Console(width=width, record=True)
    console.print(rank_view(res, width=width))
    text = console.export_text()
    ids = [f"{r.chip}:{r.unit.id}" if r.unit.id != "main" else r.chip for r in res.ranked]
    assert any("@" in i for i in ids)                      # modes within the budget are ranked
    cells: list[str] = []                                  # the chip column, folded lines joined
    for line in text.splitlines()[3:3 + 2 * len(ids)]:
        parts = line.split("│")
        if len(parts) < 2:
            break
        if parts[0].strip():
            cells.append(parts[1].strip())
        else:
            cells[-1] += parts[1].strip()
    assert cells[:len(ids)] == ids                         # every id whole, in rank order
    assert all(len(line) <= width for line in text.splitlines())
    shown = text.splitlines()[1]
    left = [name for name, _ in RANK_COLUMNS if name not in shown]
    assert bool(left) == ("left out for the terminal's width" in " ".join(text.split()))
