"""Published measurements shown beside a prediction: the shipped file, its lookup, and check's use of it."""

from __future__ import annotations

import csv
import glob
import json
from collections import Counter
from pathlib import Path

import pytest

from chipfit import check
from chipfit.data.chips import database
from chipfit.data.efficiency import runtimes_of
from chipfit.data.published import parse, published_rows

ROOT = Path(__file__).resolve().parent.parent
EDGE = ROOT / "benchmarks" / "edge"


def _predictions() -> list[dict]:
    with open(EDGE / "predictions.csv", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def test_the_shipped_file_is_the_fits_scored_rows():
    """Every row the edge fit scored (fit, held-out, checked; not the builds set aside) is in the file,
    with the latency the fit saw, and nothing else is."""
    shipped = Counter((p.chip, p.runtime, p.model, f"{p.height}x{p.width}", p.batch, round(p.latency_s, 9))
                      for p in published_rows())
    scored = Counter((r["chip"], r["class"], r["model"], r["input"], int(r["batch"]), round(float(r["measured_s"]), 9))
                     for r in _predictions() if r["role"] in ("fit", "heldout", "check"))
    assert shipped == scored
    assert len(shipped) > 2900


def test_every_row_names_a_unit_that_runs_its_runtime_and_a_source_extract():
    db = database()
    extracted = set()
    for path in glob.glob(str(EDGE / "sources" / "*.csv")):
        with open(path, encoding="utf-8") as fh:
            extracted |= {(r["source"], r["source_path"], r["source_commit"]) for r in csv.DictReader(fh)}
    for p in published_rows():
        rec, unit = db.get(f"{p.chip}:{p.unit}")
        assert p.runtime in runtimes_of(unit) or p.runtime == unit.efficiency_class, (p.chip, p.runtime)
        assert (p.source, p.source_path, p.source_commit) in extracted


def test_a_bad_row_is_refused_naming_its_line_and_field():
    head = ("chip,unit,runtime,runtime_version,model,height,width,macs,params,precision,batch,latency_s,source,"
            "source_path,source_commit,source_table\n")
    good = f"rk3588,npu,rknn,2.3.2,yolov8n,640,640,4370000000,3160000,int8,1,0.0136,github:a/b,README.md,{'a' * 40},t\n"
    assert len(parse(head + good, "x.csv")) == 1
    with pytest.raises(ValueError, match=r"x.csv, line 3, field latency_s: .*greater than 0"):
        parse(head + good + good.replace("0.0136", "-1"), "x.csv")
    with pytest.raises(ValueError, match=r"line 2, field source_commit"):
        parse(head + good.replace("a" * 40, "HEAD"), "x.csv")
    with pytest.raises(ValueError, match="the header must be"):
        parse("chip,unit\n", "x.csv")


def test_check_shows_the_published_rows_of_the_network_chip_and_runtime_asked():
    """mobilenet_v2 on the QCS8550's NPU: the QNN rows, with chipfit's prediction of the same batch
    (the one the fit scored), against the rate asked."""
    r = check("mobilenet_v2", "qcs8550", fps=30)
    want = [p for p in _predictions() if p["model"] == "mobilenet_v2" and p["chip"] == "qcs8550"
            and p["class"] == "qnn" and p["input"] == "224x224" and p["role"] != "set-aside"]
    assert want and len(r.published) == len(want)
    by_batch = {int(p["batch"]): p for p in want if p["speed_of"] == "qcs8550"}
    for m in r.published:
        assert m.row.runtime == "qnn" and m.row.precision == "int8"
        assert m.row.throughput_fps == pytest.approx(m.row.batch / m.row.latency_s)
        if m.row.batch in by_batch:  # the fit's own prediction of the row (the release chipfit predicts with)
            assert m.predicted_s == pytest.approx(float(by_batch[m.row.batch]["predicted_s"]), rel=2e-3)
        assert m.error_pct == pytest.approx(100 * (m.predicted_s / m.row.latency_s - 1))
    out = r.to_dict()["published"]
    assert {o["batch"] for o in out} == {m.row.batch for m in r.published}
    assert all(o["source"] == "github:quic/ai-hub-models" and len(o["source_commit"]) == 40 for o in out)
    # another runtime of the same chip shows its own rows
    tflite = check("mobilenet_v2", "qcs8550", fps=30, runtime="tflite-qnn")
    assert tflite.published and {m.row.runtime for m in tflite.published} == {"tflite-qnn"}


def test_an_onnx_export_of_a_published_network_is_that_network(tmp_path):
    """mobilenet_v2 exported to ONNX folds its batch norms into the convolutions: the same MACs, a few
    parameters fewer than the published network's (chipfit's graph of the built-in). Named for it, it is
    that network, within SAME: check shows its published rows and carries those of the other chips."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from chipfit.data.published import SAME

    path = tmp_path / "mobilenet_v2.onnx"
    torch.onnx.export(torchvision.models.mobilenet_v2().eval(), (torch.zeros(1, 3, 224, 224),), str(path),
                      dynamo=False, opset_version=17)
    built_in, exported = check("mobilenet_v2", "qcs8550", fps=30), check(str(path), "qcs8550", fps=30)
    p = built_in.published[0].row
    assert exported.count.macs == p.macs and exported.count.params < p.params
    assert abs(exported.count.params - p.params) <= SAME * p.params
    assert len(exported.published) == len(built_in.published)
    assert exported.elsewhere is not None and exported.elsewhere.chips == built_in.elsewhere.chips
    # the same file under another name, or the network at another input size, is not it
    other = tmp_path / "my_net.onnx"
    other.write_bytes(path.read_bytes())
    assert not check(str(other), "qcs8550", fps=30).published
    assert not check("mobilenet_v2", "qcs8550", fps=30, input_shape="1x3x256x256").published


def test_a_network_of_a_published_name_that_gets_none_of_its_measurements_is_told_why(tmp_path):
    """A graph named for a published network that is not it, or not as asked, gets one note saying why
    its measurements are not used: a head for 10 classes (other MACs and parameters), another input
    size, a batch no chip published, a chip the runtime's class never measured. The network as published,
    and a name never published, get no such note."""
    torch = pytest.importorskip("torch")
    torchvision = pytest.importorskip("torchvision")
    from chipfit.core.units import si

    def note(r):
        found = [n for n in r.notes if "was published under" in n]
        assert len(found) <= 1
        return found[0] if found else None

    path = tmp_path / "mobilenet_v2.onnx"
    torch.onnx.export(torchvision.models.mobilenet_v2(num_classes=10).eval(), (torch.zeros(1, 3, 224, 224),),
                      str(path), dynamo=False, opset_version=17)
    r = check(str(path), "qcs8550", fps=30)
    p = check("mobilenet_v2", "qcs8550", fps=30).published[0].row
    assert not r.published and r.elsewhere is None and r.verdict_basis == "class"
    assert f"with {si(p.macs)}MACs and {si(p.params)} params at this input (this graph: {si(r.count.macs)}MACs, " \
           f"{si(r.count.params)} params)" in note(r)
    assert "at 224×224, not at this graph's 256×256" in note(check("mobilenet_v2", "qcs8550", fps=30,
                                                                  input_shape="1x3x256x256"))
    assert "at batch 1, 8, not 2" in note(check("yolov8n", "hailo-8", fps=30, batch=2))
    assert "the class never measured qrb5165" in note(check("yolov8n", "qrb5165", fps=30, runtime="qnn"))
    assert note(check("mobilenet_v2", "qcs8550", fps=30)) is None
    other = tmp_path / "my_net.onnx"
    other.write_bytes(path.read_bytes())
    assert note(check(str(other), "qcs8550", fps=30)) is None


def test_the_terminal_and_json_say_whether_the_measurement_meets_the_rate():
    from chipfit.render.terminal.check import published_words

    r = check("resnet50", "jetson-nano", fps=30, precision="fp16")
    assert r.published, "torch2trt's Jetson Nano resnet50 rows"
    m = r.published[0]
    words = published_words(r, m)
    assert words.startswith(f"batch {m.row.batch}: ") and "measured" in words and "torch2trt" in words
    assert ("meets 30 FPS" if m.row.throughput_fps >= 30 else "misses 30 FPS") in words
    assert "misses 1000 FPS" in published_words(check("resnet50", "jetson-nano", fps=1000, precision="fp16"), m)
    json.dumps(r.to_dict())  # plain data


def test_nothing_is_shown_where_nothing_was_measured():
    # another input size than any measurement of the network on the chip
    assert check("mobilenet_v2", "qcs8550", fps=30, input_shape="1x3x256x256").published == []
    # another precision (the Xavier's GPU rows are TensorRT fp16)
    assert check("resnet50", "jetson-agx-xavier", fps=30, precision="fp16").published
    assert check("resnet50", "jetson-agx-xavier", fps=30, precision="int8").published == []
    # a chip nobody measured
    assert check("mobilenet_v2", "jetson-orin-nano-8gb", fps=30).to_dict()["published"] == []


def test_rank_shows_each_chips_published_batch_1_rate_and_leaves_the_column_out_when_none_has_one():
    from rich.console import Console

    from chipfit import rank
    from chipfit.render.terminal.check import rank_view

    res = rank("mobilenet_v2", fps=30, category="mobile")
    measured = {r.chip: r for r in res.ranked if any(m.row.batch == 1 for m in r.published)}
    assert "snapdragon-8-elite" in measured
    row = next(c for c in res.to_dict()["chips"] if c["chip"] == "snapdragon-8-elite")
    assert row["published"] and row["published"] == measured["snapdragon-8-elite"].to_dict()["published"]
    console = Console(width=250, record=True)
    console.print(rank_view(res))
    text = console.export_text()
    assert "measured" in text.splitlines()[1] and "measured: the FPS a vendor published" in text
    fps = sorted(m.row.throughput_fps for m in measured["snapdragon-8-elite"].published if m.row.batch == 1)
    line = next(x for x in text.splitlines() if " snapdragon-8-elite " in x)
    from chipfit.core.units import num
    assert num(fps[0], 3) in line and num(fps[-1], 3) in line
    none = rank("mobilenet_v2", fps=30, category="datacenter")
    assert not any(r.published for r in none.ranked + none.failing)
    console = Console(width=250, record=True)
    console.print(rank_view(none))
    assert "measured" not in console.export_text()


def test_a_chips_page_names_the_networks_measured_on_it():
    from rich.console import Console

    from chipfit.data.published import networks_on
    from chipfit.render.terminal.chips import chip_detail

    nets = {p.model for p in published_rows() if p.chip == "rk3588"}
    assert networks_on("rk3588") == {("npu", "rknn"): sorted(nets)}
    console = Console(width=400, record=True)
    console.print(chip_detail(database().get("rk3588")[0]))
    text = console.export_text()
    assert f"published measurements on unit npu with rknn: {len(nets)} networks ({', '.join(sorted(nets)[:6])}, …)" \
        in text
    assert networks_on("jetson-orin-nano-8gb") == {}


def test_a_network_is_the_measured_one_only_with_its_macs_and_parameters():
    """A user's module of the same architecture (torchvision's MobileNetV2, named by its class, an alias
    of the built-in) is the measured network; one of another width is not, whatever its name; a
    callable's name counts as the network's."""
    import torchvision

    same = torchvision.models.mobilenet_v2(weights=None).eval()
    narrow = torchvision.models.mobilenet_v2(weights=None, width_mult=0.75).eval()
    got = check(same, "qcs8550", fps=30, input_shape="1x3x224x224")
    assert got.count.model == "MobileNetV2" and got.published
    assert check(narrow, "qcs8550", fps=30, input_shape="1x3x224x224").published == []
    assert check("torchvision.models:resnet101", "qcs8550", fps=30, input_shape="1x3x224x224").published


def test_every_measured_network_is_a_built_in_name_a_user_can_ask_for():
    """The measured torchvision classifiers (ResNet-34/101/152, VGG, DenseNet, SqueezeNet, ...) are
    built-in names, at the crop size of their default weights (FCN-ResNet50 at its 520-pixel resize,
    without the auxiliary head, as the measurements were priced), so `check NAME` shows the
    measurements made at that size."""
    from chipfit.data import zoo

    rows = published_rows()
    unnamed = {p.model for p in rows if zoo.find(p.model) is None}
    assert unnamed == set()
    assert check("fcn_resnet50", "qcs8550", fps=30).published
    at_default = [p for p in rows if p.model == "resnet34" and p.chip == "hailo-8" and p.batch == 1]
    assert zoo.find("resnet34").input_shape[2:] == [at_default[0].height, at_default[0].width]
    r = check("resnet34", "hailo-8", fps=30)
    assert [m.row.latency_s for m in r.published if m.row.batch == 1] == [at_default[0].latency_s]
    # Inception-v3's default is torchvision's 299-pixel crop; the measurements at 224 show at 224
    assert zoo.find("inception_v3").input_shape == [1, 3, 299, 299]
    assert check("inception_v3", "qcs8550", fps=30).published == []


def test_a_built_in_network_traced_at_another_input_prints_no_library_warning():
    pytest.importorskip("torchvision")
    import warnings

    import chipfit

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # torchvision's inception_v3 warns about how it initialises weights
        small = chipfit.count("inception_v3", input_shape=["1,3,224,224"])
    assert 0 < small.macs < chipfit.count("inception_v3").macs
