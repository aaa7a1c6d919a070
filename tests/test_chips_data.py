"""The chip database: every file matches the schema, every number has a source."""

import json
from importlib import resources

import pytest
import yaml

from chipfit.core.datafile import load
from chipfit.core.errors import ChipfitError
from chipfit.data.chips import ChipFile, config_dir, database

DATA = resources.files("chipfit.data.chips").joinpath("vendors")
FILES = sorted(e.name for e in DATA.iterdir() if e.name.endswith(".yaml"))

# every chip the issue names (ids as the database spells them)
REQUIRED = [
    "ryzen-9-7950x", "rtx-4090", "h100-sxm", "h100-pcie", "h200", "a100-80gb-sxm", "l4", "t4",
    "rtx-3090", "rtx-5090", "jetson-agx-xavier", "jetson-nano", "jetson-orin-nano-4gb",
    "jetson-orin-nano-8gb", "jetson-orin-nano-8gb-super", "jetson-orin-nx-8gb", "jetson-orin-nx-16gb",
    "jetson-agx-orin-32gb", "jetson-agx-orin-64gb", "ascend-310", "ascend-310b", "ascend-310p",
    "rk3588", "rk3576", "qrb5165", "hailo-8", "hailo-8l", "hailo-10h", "coral-edge-tpu",
    "apple-m1", "apple-m2", "apple-m3", "apple-m4", "mi300x", "bm1684x",
    # the chips people buy now
    "rtx-3060", "rtx-4060-ti", "rtx-4070", "rtx-5070-ti", "rtx-5080", "rtx-pro-6000-blackwell", "a10", "h20",
    "b300", "gb200", "dgx-spark", "strix-halo", "rx-9070-xt", "mi355x", "arc-b580", "gaudi-3", "tpu-v5e",
    "apple-m3-ultra", "apple-m5", "snapdragon-8-elite", "genio-1200", "raspberry-pi-5", "ax650n", "imx8m-plus",
    "tda4vm", "rdk-x3", "k230",
]


@pytest.mark.parametrize("name", FILES)
def test_every_chip_file_matches_the_schema(name):
    from chipfit.data.chips import schema_context

    cf = load(ChipFile, DATA.joinpath(name).read_text(encoding="utf-8"), name, schema_context())
    for chip in cf.chips:
        figs = chip.figures()
        for field, fig in figs:
            assert fig.source in cf.sources, f"{chip.id}.{field}"
            assert cf.sources[fig.source].title
            if fig.flag == "derived":
                assert fig.formula, f"{chip.id}.{field} is derived without a formula"


def test_the_database_holds_at_least_150_chips_and_every_named_one():
    db = database()
    assert len(db) >= 150
    missing = [c for c in REQUIRED if c not in db.records]
    assert not missing, missing
    for vendor_chip in ("journey-5", "bm1684x"):
        assert vendor_chip in db.records  # Chinese edge chips a user looks for
    ids = [r.id for r in db]
    assert len(ids) == len(set(ids))


def test_dense_never_exceeds_sparse_and_units_are_separate():
    for rec in database():
        for unit in rec.chip.compute_units():
            for key, sparse in unit.sparse.items():
                dense = unit.dense.get(key)
                if dense is not None:
                    assert dense.value < sparse.value, f"{rec.id}:{unit.id} {key}"
    orin = database().records["jetson-agx-orin-64gb"].chip
    assert [u.id for u in orin.units] == ["gpu", "dla"]
    # the 275 TOPS headline is sparse, GPU + DLAs: no unit's dense peak may be it
    assert orin.headline.value == 275
    assert all(u.dense["int8"].value < 275 / 2 for u in orin.units)


def _ridge(chip_id, unit, precision):
    rec = database().records[chip_id]
    (r,) = [r for r in rec.ridge_points() if r["unit"] == unit and r["precision"] == precision]
    return r["flop_per_byte"]


@pytest.mark.parametrize("chip, unit, precision, by_hand", [
    ("rtx-4090", "main", "fp32", 82),      # FP32 shader
    ("h100-sxm", "main", "fp32", 20),      # FP32 non-tensor
    ("h100-sxm", "main", "tf32", 147),     # TF32 tensor, dense
    ("ryzen-9-7950x", "main", "fp32", 40),
])
def test_by_hand_flop_per_byte_ridge_points(chip, unit, precision, by_hand):
    assert _ridge(chip, unit, precision) == pytest.approx(by_hand, rel=0.15)


def test_a_user_chip_file_adds_chips_and_errors_name_file_line_and_field(tmp_path):
    good = tmp_path / "mine.yaml"
    good.write_text("""
vendor: Me
sources:
  bench: {title: "my own measurement", date: "2026-11"}
chips:
  - id: my-board
    name: My board
    category: edge
    efficiency_class: npu
    dense:
      int8: {value: 3, source: bench, flag: measured}
""")
    db = database([good])
    assert "my-board" in db.records and db.records["my-board"].origin == str(good)
    bad = tmp_path / "bad.yaml"
    bad.write_text(good.read_text().replace("value: 3", "value: -3"))
    with pytest.raises(ChipfitError, match=r"bad.yaml, line 11: chips\[0\].dense.int8.value: Input should be greater than 0"):
        database([bad])
    unsourced = tmp_path / "unsourced.yaml"
    unsourced.write_text(good.read_text().replace("source: bench", "source: nowhere"))
    with pytest.raises(ChipfitError, match="cites source 'nowhere'"):
        database([unsourced])
    derived = tmp_path / "derived.yaml"
    derived.write_text(good.read_text().replace("flag: measured", "flag: derived"))
    with pytest.raises(ChipfitError, match="a derived number needs its formula"):
        database([derived])
    with pytest.raises(ChipfitError, match="not valid YAML"):
        bad.write_text("chips: [\n")
        database([bad])


def test_the_config_folder_is_read(tmp_path, monkeypatch):
    folder = tmp_path / "chips"
    folder.mkdir()
    (folder / "x.yaml").write_text(yaml.safe_dump({
        "vendor": "Me", "sources": {"s": {"title": "my notes"}},
        "chips": [{"id": "folder-chip", "name": "F", "category": "cpu", "efficiency_class": "cpu",
                   "dense": {"fp32": {"value": 1, "source": "s", "flag": "measured"}}}]}))
    monkeypatch.setenv("CHIPFIT_CHIPS_DIR", str(folder))
    assert config_dir() == folder
    assert "folder-chip" in database().records


def test_the_json_list_carries_every_number_with_its_source(run_cli):
    rc, out, err = run_cli("chips", "--json")
    assert rc == 0, err
    chips = json.loads(out)["chips"]
    db = database()
    assert len(chips) == len(db.records)
    for c in chips:
        rec = db.records[c["id"]]
        figures = {f["field"]: f for f in c["figures"]}
        assert set(figures) == {name for name, _ in rec.chip.figures()}, c["id"]
        for f in figures.values():
            assert f["flag"] in ("datasheet", "third-party", "derived", "measured") and f["source"]["title"]
            assert f["flag"] != "derived" or f["formula"]
    tpu = next(c for c in chips if c["id"] == "coral-edge-tpu")
    assert tpu["host_link"]["bandwidth_gbps"] > 0 and tpu["onchip_memory_mb"] > 0
    assert tpu["runtimes"] == [{"unit": "main", "runtimes": ["edgetpu"]}]


def test_no_alias_names_two_chips():
    from chipfit.data.chips import _key

    owner: dict[str, str] = {}
    clashes = []
    for rec in database():
        for name in {_key(n) for n in (rec.id, *rec.chip.aliases)}:
            if owner.setdefault(name, rec.id) != rec.id:
                clashes.append(f"{name}: {owner[name]} and {rec.id}")
    assert not clashes, clashes


def test_every_memory_size_and_power_mode_resolves():
    db = database()
    n_sizes = n_modes = 0
    for rec in list(db):
        for option in rec.chip.memory_options:
            picked, _ = db.get(f"{rec.id}:{option.id}")
            assert picked.chip.memory_gb.value == option.memory_gb.value
            n_sizes += 1
        for mode in rec.chip.power_modes:
            picked, _ = db.get(f"{rec.id}@{mode.id}")
            assert picked.chip.power_w.value == mode.power_w.value
            for unit in picked.chip.compute_units():
                for fig in unit.dense.values():
                    assert fig.flag != "derived" or fig.formula
            n_modes += 1
    assert n_sizes >= 20 and n_modes >= 10   # the database carries both
