"""The ONNX frontend on bad input: every failure is one ChipfitError sentence, never a crash.

The contract (chipfit.errors, the CLI contract): a malformed, truncated, cyclic or absurd ``.onnx``
file, or a wrong ``dims`` / ``input_shape``, raises :class:`chipfit.ChipfitError`; the
CLI prints exactly one line ``chipfit: <sentence>`` to stderr and exits with code 2. No
other exception, no traceback, no hang, no runaway memory.

Models are built in-test with ``onnx.helper`` (no torch, no downloads). The property tests
mutate valid models (bytes, then protobuf fields) and require "a count with integer MACs
>= 0, or a ChipfitError" for every mutant.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import tracemalloc
from pathlib import Path

import pytest

onnx = pytest.importorskip("onnx")
np = pytest.importorskip("numpy")
from fuzzing import FUZZ_MEMORY, apply_mutations, fuzz_settings, memory_limit, time_limit
from hypothesis import given
from hypothesis import strategies as st
from onnx import TensorProto, helper, numpy_helper

import chipfit
from chipfit import ChipfitError
from chipfit.frontends.onnx import model as onnx_model
from chipfit.frontends.onnx import walk as onnx_walk

#: MACs of the CNN below at batch 1: Conv 8×3×3×3 over 32×32 outputs + Gemm 2048→10
CNN_MACS = 8 * 3 * 3 * 3 * 32 * 32 + 2048 * 10
OPSET = 17


# --------------------------------------------------------------------------------------
# Models
# --------------------------------------------------------------------------------------
def _model(nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])


def _value(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def cnn(batch="N"):
    """Conv(+bias) -> Relu -> MaxPool -> Flatten -> Gemm on batch×3×32×32, float weights."""
    rng = np.random.default_rng(0)
    inits = [
        numpy_helper.from_array(rng.standard_normal((8, 3, 3, 3)).astype(np.float32), "conv.weight"),
        numpy_helper.from_array(rng.standard_normal(8).astype(np.float32), "conv.bias"),
        numpy_helper.from_array(rng.standard_normal((10, 8 * 16 * 16)).astype(np.float32), "fc.weight"),
        numpy_helper.from_array(rng.standard_normal(10).astype(np.float32), "fc.bias"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
        helper.make_node("Relu", ["c"], ["r"], name="/relu/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Flatten", ["p"], ["f"], name="/Flatten", axis=1),
        helper.make_node("Gemm", ["f", "fc.weight", "fc.bias"], ["y"], name="/fc/Gemm", transB=1),
    ]
    m = _model(nodes, [_value("x", [batch, 3, 32, 32])], [_value("y", [batch, 10])], inits)
    onnx.checker.check_model(m)
    return m


def rich_cnn():
    """A smaller CNN that also exercises shape arithmetic (Shape -> Gather -> Concat ->
    Reshape, folded by the loader), Transpose, MatMul and Softmax: the fuzzing target."""
    rng = np.random.default_rng(1)
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 3, 3, 3)).astype(np.float32), "conv.weight"),
        numpy_helper.from_array(rng.standard_normal(4).astype(np.float32), "conv.bias"),
        numpy_helper.from_array(rng.standard_normal((4 * 4 * 4, 6)).astype(np.float32), "fc.weight"),
        numpy_helper.from_array(np.array([0], dtype=np.int64), "zero"),
        numpy_helper.from_array(np.array([-1], dtype=np.int64), "minus_one"),
    ]
    nodes = [
        helper.make_node("Conv", ["x", "conv.weight", "conv.bias"], ["c"], name="/conv/Conv",
                         kernel_shape=[3, 3], pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("Relu", ["c"], ["r"], name="/relu/Relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="/pool/MaxPool", kernel_shape=[2, 2], strides=[2, 2]),
        helper.make_node("Shape", ["p"], ["s"], name="/Shape"),
        helper.make_node("Gather", ["s", "zero"], ["n"], name="/Gather", axis=0),
        helper.make_node("Concat", ["n", "minus_one"], ["flat_shape"], name="/Concat", axis=0),
        helper.make_node("Reshape", ["p", "flat_shape"], ["f"], name="/Reshape"),
        helper.make_node("MatMul", ["f", "fc.weight"], ["h"], name="/fc/MatMul"),
        helper.make_node("Transpose", ["h"], ["t"], name="/Transpose", perm=[1, 0]),
        helper.make_node("Softmax", ["t"], ["y"], name="/Softmax", axis=0),
    ]
    m = _model(nodes, [_value("x", ["N", 3, 16, 16])], [_value("y", [6, "N"])], inits)
    onnx.checker.check_model(m)
    return m


def save_external(model, folder: Path, name: str = "m.onnx", size_threshold: int = 0) -> Path:
    """Save with weights in ``folder/w.bin``. onnx checks ``location`` for an existing file
    relative to the *working directory*, not the model's folder, so save from ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    cwd = os.getcwd()
    os.chdir(folder)
    try:
        onnx.save_model(model, name, save_as_external_data=True, all_tensors_to_one_file=True,
                        location="w.bin", size_threshold=size_threshold)
    finally:
        os.chdir(cwd)
    return folder / name


def write(path: Path, model_or_bytes) -> Path:
    data = model_or_bytes if isinstance(model_or_bytes, bytes) else model_or_bytes.SerializeToString()
    path.write_bytes(data)
    return path


def single_node(tmp_path, op, in_shapes, name="n", out_shape=None, **attrs) -> Path:
    inputs = [_value(f"i{k}", s) for k, s in enumerate(in_shapes)]
    node = helper.make_node(op, [v.name for v in inputs], ["y"], name=name, **attrs)
    return write(tmp_path / f"{name}.onnx", _model([node], inputs, [_value("y", out_shape)]))


# --------------------------------------------------------------------------------------
# Assertions
# --------------------------------------------------------------------------------------
def raises_chipfit(path, *words, **kwargs) -> str:
    """``chipfit.count`` raises a ChipfitError whose one-line message contains ``words``."""
    with pytest.raises(ChipfitError) as info:
        chipfit.count(str(path), **kwargs)
    message = str(info.value)
    assert message and "\n" not in message, repr(message)
    assert "Traceback" not in message
    for w in words:
        assert w.lower() in message.lower(), f"{w!r} not in {message!r}"
    return message


def cli_fails(path, *args: str) -> str:
    """``python -m chipfit count PATH ARGS`` exits 2 with one ``chipfit: `` line on stderr."""
    p = subprocess.run([sys.executable, "-m", "chipfit", "count", str(path), *args],
                       check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode == 2, (p.returncode, p.stdout, p.stderr)
    assert "Traceback" not in p.stderr
    lines = p.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chipfit: "), p.stderr
    assert p.stdout == ""
    return lines[0]


# --------------------------------------------------------------------------------------
# The valid models count (the baseline the mutants start from)
# --------------------------------------------------------------------------------------
def test_valid_cnn_counts(tmp_path):
    path = write(tmp_path / "cnn.onnx", cnn())
    r = chipfit.count(str(path), dims={"N": 1})
    assert r.macs == CNN_MACS
    assert r.params == 8 * 27 + 8 + 10 * 2048 + 10
    assert chipfit.count(str(path), dims=["N=3"]).macs == 3 * CNN_MACS
    assert chipfit.count(str(path), input_shape="x=2,3,32,32").macs == 2 * CNN_MACS
    assert onnx_walk.read(path, batch=1).params == r.params


def test_valid_external_data_counts(tmp_path, run_cli):
    path = save_external(cnn(), tmp_path / "ext")
    assert (tmp_path / "ext" / "w.bin").stat().st_size > 80_000
    assert path.stat().st_size < 2_000  # the weights really are outside
    assert chipfit.count(str(path), dims={"N": 1}).macs == CNN_MACS
    code, out, err = run_cli("count", str(path), "--dim", "N=1", "--json")
    assert code == 0, err
    assert f'"macs": {CNN_MACS}' in out


def test_rich_cnn_counts(tmp_path):
    path = write(tmp_path / "rich.onnx", rich_cnn())
    r = chipfit.count(str(path), dims={"N": 2})
    assert r.macs == 2 * (4 * 27 * 8 * 8 + 64 * 6)
    assert not [n for n in r.notes if "unsupported" in n], r.notes


# --------------------------------------------------------------------------------------
# Specific bad inputs
# --------------------------------------------------------------------------------------
def test_not_a_protobuf(tmp_path):
    path = tmp_path / "x.onnx"
    path.write_text("this is a text file, not a protobuf\n" * 20)
    raises_chipfit(path, "x.onnx", "not a readable ONNX model", dims={"N": 1})
    cli_fails(path)


def test_random_binary_is_not_a_model(tmp_path):
    path = tmp_path / "x.onnx"
    path.write_bytes(np.random.default_rng(7).integers(0, 256, 4096, dtype=np.uint8).tobytes())
    raises_chipfit(path, "x.onnx")


def test_empty_file(tmp_path):
    path = tmp_path / "nothing.onnx"
    path.write_bytes(b"")
    message = raises_chipfit(path, "nothing.onnx")
    assert "empty" in message or "no graph" in message, message
    cli_fails(path, "--dim", "N=1")


def test_truncated_file(tmp_path):
    data = cnn().SerializeToString()
    path = write(tmp_path / "half.onnx", data[: len(data) // 2])
    raises_chipfit(path, "half.onnx", "not a readable ONNX model", dims={"N": 1})
    cli_fails(path, "--dim", "N=1")


def test_missing_file_and_folder(tmp_path):
    raises_chipfit(tmp_path / "nope.onnx", "does not exist")
    (tmp_path / "dir.onnx").mkdir()
    raises_chipfit(tmp_path / "dir.onnx", "not a file")


def test_missing_external_data(tmp_path):
    path = save_external(cnn(), tmp_path / "ext")
    (tmp_path / "ext" / "w.bin").unlink()
    raises_chipfit(path, "w.bin", "missing", dims={"N": 1})
    cli_fails(path, "--dim", "N=1")


def test_truncated_external_data(tmp_path):
    path = save_external(cnn(), tmp_path / "ext")
    weights = tmp_path / "ext" / "w.bin"
    weights.write_bytes(weights.read_bytes()[:1000])
    raises_chipfit(path, "w.bin", "truncated", dims={"N": 1})
    cli_fails(path, "--dim", "N=1")


@pytest.mark.parametrize("location", ["/etc/passwd", "../w.bin", ""])
def test_external_data_outside_the_model_folder(tmp_path, location):
    m = cnn()
    w = m.graph.initializer[0]
    w.ClearField("raw_data")
    w.data_location = TensorProto.EXTERNAL
    for key, value in (("location", location), ("offset", "0"), ("length", "864")):
        entry = w.external_data.add()
        entry.key, entry.value = key, value
    path = write(tmp_path / "m.onnx", m)
    raises_chipfit(path, "conv.weight", "external-data location", dims={"N": 1})


def test_external_data_malformed_length(tmp_path):
    path = save_external(cnn(), tmp_path / "ext")
    m = onnx.load(str(path), load_external_data=False)
    for e in m.graph.initializer[0].external_data:
        if e.key == "length":
            e.value = "lots"
    write(path, m)
    raises_chipfit(path, "malformed external-data", dims={"N": 1})


def test_cycle(tmp_path):
    nodes = [helper.make_node("Add", ["x", "b"], ["a"], name="A"),
             helper.make_node("Relu", ["a"], ["b"], name="B")]
    path = write(tmp_path / "cycle.onnx", _model(nodes, [_value("x", [1, 4])], [_value("b", [1, 4])]))
    raises_chipfit(path, "cycle")
    cli_fails(path)


def test_self_loop(tmp_path):
    nodes = [helper.make_node("Add", ["x", "a"], ["a"], name="A")]
    path = write(tmp_path / "loop.onnx", _model(nodes, [_value("x", [1, 4])], [_value("a", [1, 4])]))
    raises_chipfit(path, "cycle")


def test_absurd_input_dimension(tmp_path):
    path = write(tmp_path / "absurd.onnx", cnn(batch=10**13))
    raises_chipfit(path, "absurd", "10,000,000,000,000")
    cli_fails(path)


def test_absurd_dim_binding(tmp_path):
    path = write(tmp_path / "cnn.onnx", cnn())
    raises_chipfit(path, "N=10000000000000", "absurdly large", dims={"N": 10**13})
    raises_chipfit(path, "absurdly large", dims=[f"N={10**13}"])
    raises_chipfit(path, "absurd", "10,000,000,000,000", input_shape=f"x={10**13},3,32,32")
    cli_fails(path, "--dim", f"N={10**13}")


def test_absurd_initializer_dimension(tmp_path):
    m = cnn()
    m.graph.initializer[2].ClearField("raw_data")
    m.graph.initializer[2].dims[:] = [10, 2**50]
    raises_chipfit(write(tmp_path / "m.onnx", m), "fc.weight", "absurd", dims={"N": 1})


@pytest.mark.parametrize("dims", [{"N": 0}, {"N": -3}, ["N=one"], ["N"], ["=4"]])
def test_malformed_dim_binding(tmp_path, dims):
    path = write(tmp_path / "cnn.onnx", cnn())
    raises_chipfit(path, "malformed dims entry", dims=dims)  # the Python API names its argument


def test_maxpool_without_kernel_shape(tmp_path):
    path = single_node(tmp_path, "MaxPool", [[1, 3, 8, 8]], name="pool")
    raises_chipfit(path, "pool", "MaxPool", "kernel_shape")


def test_einsum_without_equation(tmp_path):
    path = single_node(tmp_path, "Einsum", [[2, 3], [3, 4]], name="es")
    raises_chipfit(path, "es", "Einsum", "equation")
    cli_fails(path)


def test_unbound_symbolic_dimension(tmp_path):
    path = write(tmp_path / "cnn.onnx", cnn())
    message = raises_chipfit(path, "'N'", "give each in dims")
    assert "input 'x'" in message and "axis 0" in message
    line = cli_fails(path)  # the command line names its flags
    assert "'N'" in line and "give each in --dim" in line and "--dim N=<value>" in line


def test_unnamed_free_dimension(tmp_path):
    path = write(tmp_path / "m.onnx", cnn(batch=None))  # dim without value or name: '?'
    raises_chipfit(path, "unnamed dimension", "whole shapes in input_shape")
    assert chipfit.count(str(path), batch=1).macs == CNN_MACS


def test_node_reads_a_tensor_nobody_produces(tmp_path):
    nodes = [helper.make_node("Add", ["x", "ghost"], ["y"], name="A")]
    path = write(tmp_path / "dangling.onnx", _model(nodes, [_value("x", [1, 4])], [_value("y", [1, 4])]))
    raises_chipfit(path, "'A'", "'ghost'")
    cli_fails(path)


def test_dim_that_does_not_exist(tmp_path):
    path = write(tmp_path / "cnn.onnx", cnn())
    message = raises_chipfit(path, "'batch'", dims={"batch": 1})
    assert "N" in message  # names the dimensions there are
    raises_chipfit(path, "'batch'", dims={"N": 1, "batch": 1})
    line = cli_fails(path, "--dim", "batch=1")
    assert "'batch'" in line


def test_dim_on_a_model_without_free_dimensions(tmp_path):
    path = write(tmp_path / "static.onnx", cnn(batch=1))
    raises_chipfit(path, "'N'", "none", dims={"N": 1})


@pytest.mark.parametrize("shape, words", [
    ("x=1,3,32", ("4 dimensions", "gave 3")),
    ("q=1,3,32,32", ("no input 'q'", "x")),
    ("1,3,32,32:int64,,", ()),
    ("x=1,3,a,32", ()),
])
def test_bad_input_shape(tmp_path, shape, words):
    path = write(tmp_path / "cnn.onnx", cnn())
    raises_chipfit(path, *words, input_shape=shape)


def test_input_shape_given_twice(tmp_path):
    path = write(tmp_path / "cnn.onnx", cnn())
    raises_chipfit(path, "two shapes", input_shape=["x=1,3,32,32", "x=2,3,32,32"])


def test_input_that_is_not_a_tensor(tmp_path):
    seq = helper.make_tensor_sequence_value_info("s", TensorProto.FLOAT, [1, 4])
    node = helper.make_node("SequenceLength", ["s"], ["y"], name="len")
    path = write(tmp_path / "seq.onnx", _model([node], [seq], [_value("y", [], TensorProto.INT64)]))
    raises_chipfit(path, "'s'", "not a tensor")


def test_model_without_graph(tmp_path):
    path = write(tmp_path / "nograph.onnx", helper.make_model(helper.make_graph([], "g", [], [])))
    raises_chipfit(path, "no graph")


def test_no_weights_are_read(tmp_path):
    """A model whose external weights are garbage still counts: the bytes are never read."""
    path = save_external(cnn(), tmp_path / "ext")
    weights = tmp_path / "ext" / "w.bin"
    weights.write_bytes(b"\xff" * weights.stat().st_size)
    assert chipfit.count(str(path), dims={"N": 1}).macs == CNN_MACS


def test_shape_arithmetic_bomb_stays_small(tmp_path):
    """Abs hides the constant shape from onnx's data propagation; the loader folds it, then
    must not evaluate ConstantOfShape(n, n): a small file may not cost gigabytes of memory."""
    n = 6000  # 288 MB if materialised; kept small so that the failing case stays harmless
    shape = numpy_helper.from_array(np.array([n, n], dtype=np.int64), "shape")
    one = numpy_helper.from_array(np.array([1], dtype=np.int64), "one")
    nodes = [
        helper.make_node("Constant", [], ["a"], value=shape),
        helper.make_node("Abs", ["a"], ["s"]),
        helper.make_node("ConstantOfShape", ["s"], ["z"], value=one),
        helper.make_node("ReduceSum", ["z"], ["t"], keepdims=0),
        helper.make_node("Cast", ["t"], ["tf"], to=TensorProto.FLOAT),
        helper.make_node("Add", ["x", "tf"], ["y"]),
    ]
    path = write(tmp_path / "bomb.onnx", _model(nodes, [_value("x", [1, 4])], [_value("y", None)]))
    assert path.stat().st_size < 1000
    tracemalloc.start()
    try:
        try:
            r = chipfit.count(str(path))
            assert r.macs >= 0
        except ChipfitError:
            pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 64 * 2**20, f"peak traced memory {peak / 2**20:.0f} MiB"


def test_recursive_local_function(tmp_path):
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("local", 1)]
    fn = helper.make_function("local", "F", ["a"], ["b"], [helper.make_node("F", ["a"], ["b"], domain="local")],
                              opsets)
    graph = helper.make_graph([helper.make_node("F", ["x"], ["y"], domain="local")], "g",
                              [_value("x", [1, 4])], [_value("y", [1, 4])])
    path = write(tmp_path / "recursive.onnx", helper.make_model(graph, opset_imports=opsets, functions=[fn]))
    raises_chipfit(path, "recursive.onnx", "function")


def test_local_functions_are_inlined(tmp_path):
    """Run in a fresh process: another test (the torch exporter) may already have imported onnx.inliner."""
    opsets = [helper.make_opsetid("", OPSET), helper.make_opsetid("local", 1)]
    fn = helper.make_function("local", "Act", ["a"], ["b"], [helper.make_node("Relu", ["a"], ["r"]),
                                                             helper.make_node("Neg", ["r"], ["b"])], opsets)
    graph = helper.make_graph([helper.make_node("Act", ["x"], ["y"], domain="local", name="/act/Act")], "g",
                              [_value("x", [1, 4])], [_value("y", [1, 4])])
    model = helper.make_model(graph, opset_imports=opsets, functions=[fn])
    onnx.checker.check_model(model)
    path = write(tmp_path / "fn.onnx", model)
    p = subprocess.run([sys.executable, "-m", "chipfit", "count", str(path), "--json"],
                       check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert '"flops": 8' in p.stdout  # Relu and Neg on 4 elements


def _replace_same_length(data: bytes, old: bytes, new: bytes) -> bytes:
    assert len(old) == len(new) and old in data, (old, new)
    return data.replace(old, new)


@pytest.mark.parametrize("field", [
    "node name", "input name", "dim_param", "external location", "op_type", "initializer name", "metadata",
])
def test_invalid_utf8_in_a_string_field(tmp_path, field):
    """Protobuf strings must be UTF-8; a file that breaks this is bad input, never a TypeError."""
    kwargs = {"dims": {"N": 1}}
    folder = tmp_path
    if field == "external location":
        data = save_external(cnn(), tmp_path / "ext").read_bytes()
        data = _replace_same_length(data, b"w.bin", b"w\xffbin")
        folder = tmp_path / "ext"
    else:
        m = cnn()
        m.graph.node[0].metadata_props.add(key="pkg.torch.onnx.name_scopes", value="['', 'conv', 'Conv']")
        data = m.SerializeToString()
        if field == "node name":
            data = _replace_same_length(data, b"/relu/Relu", b"/relu/R\xfflu")
        elif field == "input name":  # the graph input 'x' and the Conv reading it
            data = _replace_same_length(data, b"\n\x01x", b"\n\x01\xff")
            kwargs = {"input_shape": "q=1,3,32,32"}
        elif field == "dim_param":
            data = _replace_same_length(data, b"\x12\x01N", b"\x12\x01\xff")
        elif field == "op_type":
            data = _replace_same_length(data, b"\x22\x04Relu", b"\x22\x04R\xfflu")
        elif field == "initializer name":
            data = data.replace(b"conv.bias", b"conv\xffbias")
        elif field == "metadata":
            data = _replace_same_length(data, b"'conv', 'Conv'", b"'co\xffv', 'Conv'")
    count_or_chipfit_error(write(folder / "utf8.onnx", data), **kwargs)


def test_cli_invalid_utf8_node_name(tmp_path):
    data = _replace_same_length(cnn().SerializeToString(), b"/relu/Relu", b"/relu/R\xfflu")
    p = subprocess.run([sys.executable, "-m", "chipfit", "count", str(write(tmp_path / "m.onnx", data)),
                        "--dim", "N=1"], check=False, capture_output=True, text=True, timeout=120)
    assert p.returncode in (0, 2), p.stderr
    assert "Traceback" not in p.stderr and "internal error" not in p.stderr


def test_initializer_dims_disagree_with_its_data(tmp_path):
    """'zero' holds one int64 (8 bytes of raw_data) but declares 100,000 elements (the fuzzer
    found it at 2**40, where shape inference would take all the memory)."""
    m = rich_cnn()
    zero = next(t for t in m.graph.initializer if t.name == "zero")
    assert len(zero.raw_data) == 8
    zero.dims[:] = [10**5]
    raises_chipfit(write(tmp_path / "m.onnx", m), "'zero'", dims={"N": 1})


# VmHWM, the peak resident size of this process's own memory: ru_maxrss would carry over the
# peak of the (large) pytest process this one was forked from, which Linux keeps across exec
_MEASURE_CHILD = """
import sys, chipfit
try:
    chipfit.count(sys.argv[1], dims={"N": 1})
except chipfit.ChipfitError as exc:
    print("chipfit:", exc)
hwm = next(line for line in open("/proc/self/status") if line.startswith("VmHWM"))
print("maxrss_mib", int(hwm.split()[1]) // 1024)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_declared_integer_input_in_shape_arithmetic_stays_small(tmp_path):
    """rich_cnn with its Gather indices 'zero' turned into a graph input of 400,000 int64 values
    (no data in the file at all): counting must stay far below 400,000 × 1 KiB."""
    m = rich_cnn()
    keep = [t for t in m.graph.initializer if t.name != "zero"]
    del m.graph.initializer[:]
    m.graph.initializer.extend(keep)
    m.graph.input.append(_value("zero", [400_000], TensorProto.INT64))
    path = write(tmp_path / "m.onnx", m)
    assert path.stat().st_size < 4000
    p = subprocess.run([sys.executable, "-c", _MEASURE_CHILD, str(path)], check=False, capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    peak = int(p.stdout.split("maxrss_mib")[1])
    assert peak < 300, f"peak RSS {peak} MiB"


# --------------------------------------------------------------------------------------
# Property tests: mutated models count or raise ChipfitError, nothing else
# --------------------------------------------------------------------------------------
def count_or_chipfit_error(path: Path, **kwargs) -> None:
    """The property: a result with integer MACs >= 0, or a ChipfitError; anything else fails."""
    with time_limit(10):
        try:
            r = chipfit.count(str(path), **kwargs)
        except ChipfitError as exc:
            message = str(exc)
            assert message and "\n" not in message and "Traceback" not in message, repr(message)
            return
    assert isinstance(r.macs, int) and r.macs >= 0, r.macs
    assert isinstance(r.flops, int) and r.flops >= 0, r.flops
    assert isinstance(r.params, int) and r.params >= 0, r.params


def fuzz_one(folder: Path, data: bytes) -> None:
    """Write ``data`` as an .onnx next to the fuzz target's w.bin and check the property."""
    with tempfile.NamedTemporaryFile(dir=folder, suffix=".onnx", delete=False) as f:
        f.write(data)
    try:
        count_or_chipfit_error(Path(f.name), dims={"N": 1})
    finally:
        os.unlink(f.name)


# -- byte-level mutations -------------------------------------------------------------------
_position = st.integers(min_value=0, max_value=2**31)
byte_mutations = st.lists(
    st.one_of(
        st.tuples(st.just("flip"), _position, st.integers(0, 7)),
        st.tuples(st.just("overwrite"), _position, st.binary(min_size=1, max_size=8)),
        st.tuples(st.just("truncate"), _position, st.none()),
        st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=16)),
        st.tuples(st.just("duplicate"), _position, st.tuples(st.integers(1, 64), _position)),
    ),
    min_size=1, max_size=4,
)


@pytest.fixture(scope="module")
def fuzz_folder(tmp_path_factory):
    """Two targets side by side: the rich CNN with its weights inline, and the same model with
    the big weights in ``w.bin`` (the .onnx then is almost all graph structure)."""
    folder = tmp_path_factory.mktemp("fuzz")
    inline = rich_cnn().SerializeToString()
    external = save_external(rich_cnn(), folder, name="ext.onnx", size_threshold=256).read_bytes()
    assert len(external) < len(inline) // 2
    return folder, {"inline": inline, "external": external}


@pytest.mark.parametrize("target", ["external", "inline"])
def test_fuzz_bytes(fuzz_folder, target):
    folder, models = fuzz_folder
    original = models[target]
    assert chipfit.count(str(write(folder / "valid.onnx", original)), dims={"N": 1}).macs > 0

    @fuzz_settings
    @given(mutations=byte_mutations)
    def run(mutations):
        fuzz_one(folder, apply_mutations(original, mutations))

    with memory_limit(FUZZ_MEMORY):
        run()


# -- structured mutations: well-formed protobufs with wrong contents (dims, attributes, op
# types, edges, element types, opsets), which byte flips reach only rarely -------------------
_OPS = ["Conv", "ConvTranspose", "MaxPool", "AveragePool", "LpPool", "GlobalAveragePool", "Gemm", "MatMul",
        "Einsum", "Relu", "Softmax", "Reshape", "Flatten", "Transpose", "Concat", "Gather", "Shape", "Slice",
        "Resize", "LSTM", "GRU", "Attention", "BatchNormalization", "LayerNormalization", "ReduceMean",
        "Expand", "Tile", "Pad", "ConstantOfShape", "Range", "TopK", "QLinearConv", "QLinearMatMul",
        "DequantizeLinear", "If", "Loop", "Split", "Where", "NotAnOp"]
_INTS = [-(2**40), -7, -1, 0, 1, 2, 3, 5, 64, 2**31 - 1, 2**31, 2**40, 2**40 + 1, 2**62, 2**63 - 1]
_KINDS = ["dim", "init_dim", "drop_init_dim", "op", "drop_attr", "attr_ints", "edge", "drop_input",
          "drop_node", "dup_node", "elem_type", "opset"]


def mutate_model(model, choices) -> None:
    """Apply ``choices``, tuples (kind, a, b, c) of small integers picking what to change, to ``model``."""
    g = model.graph
    for kind, a, b, c in choices:
        tensors = [*g.input, *g.output]
        if kind == "dim" and tensors:
            dims = tensors[a % len(tensors)].type.tensor_type.shape.dim
            if dims:
                d = dims[b % len(dims)]
                if c % 4 == 0:
                    d.dim_param = ["N", "M", "", "batch"][b % 4]
                else:
                    d.dim_value = _INTS[c % len(_INTS)]
        elif kind == "init_dim" and g.initializer:
            t = g.initializer[a % len(g.initializer)]
            if t.dims:
                t.dims[b % len(t.dims)] = _INTS[c % len(_INTS)]
            else:
                t.dims.append(_INTS[c % len(_INTS)])
        elif kind == "drop_init_dim" and g.initializer:
            t = g.initializer[a % len(g.initializer)]
            if t.dims:
                del t.dims[b % len(t.dims)]
        elif kind == "op" and g.node:
            g.node[a % len(g.node)].op_type = _OPS[b % len(_OPS)]
        elif kind == "drop_attr" and g.node:
            node = g.node[a % len(g.node)]
            if node.attribute:
                del node.attribute[b % len(node.attribute)]
        elif kind == "attr_ints" and g.node:
            node = g.node[a % len(g.node)]
            if node.attribute:
                attr = node.attribute[b % len(node.attribute)]
                value = _INTS[c % len(_INTS)]
                if attr.ints:
                    attr.ints[c % len(attr.ints)] = value
                elif attr.type == onnx.AttributeProto.INT:
                    attr.i = value
        elif kind == "edge" and g.node:
            node = g.node[a % len(g.node)]
            names = ["", "x", "ghost"] + [o for n in g.node for o in n.output] + [t.name for t in g.initializer]
            if node.input:
                node.input[b % len(node.input)] = names[c % len(names)]
            else:
                node.input.append(names[c % len(names)])
        elif kind == "drop_input" and g.node:
            node = g.node[a % len(g.node)]
            if node.input:
                del node.input[b % len(node.input)]
        elif kind == "drop_node" and g.node:
            del g.node[a % len(g.node)]
        elif kind == "dup_node" and g.node:
            g.node.append(g.node[a % len(g.node)])
        elif kind == "elem_type":
            targets = [*(vi.type.tensor_type for vi in tensors), *g.initializer]
            if targets:
                t = targets[a % len(targets)]
                if isinstance(t, onnx.TensorProto):
                    t.data_type = b % 27
                else:
                    t.elem_type = b % 27
        elif kind == "opset":
            model.opset_import[0].version = [1, 7, 11, 13, 17, 21, 23, 99, 0, -1][a % 10]


_small = st.integers(min_value=0, max_value=200)
structured_mutations = st.lists(st.tuples(st.sampled_from(_KINDS), _small, _small, _small), min_size=1, max_size=3)


@pytest.mark.parametrize("target", ["rich", "cnn"])
def test_fuzz_structure(tmp_path_factory, target):
    folder = tmp_path_factory.mktemp("structure")
    original = (rich_cnn() if target == "rich" else cnn()).SerializeToString()

    @fuzz_settings
    @given(choices=structured_mutations)
    def run(choices):
        model = onnx.ModelProto()
        model.ParseFromString(original)
        mutate_model(model, choices)
        fuzz_one(folder, model.SerializeToString())

    with memory_limit(FUZZ_MEMORY):
        run()


def test_onnx_model_load_directly(tmp_path):
    """The loader on its own keeps the contract too (not only through chipfit.count)."""
    path = tmp_path / "x.onnx"
    path.write_bytes(b"\x08\x07\x12\x00garbage")
    with pytest.raises(ChipfitError):
        onnx_model.load(path, dims={"N": 1})
    with pytest.raises(ChipfitError):
        onnx_walk.read(path, dims={"N": 1})
