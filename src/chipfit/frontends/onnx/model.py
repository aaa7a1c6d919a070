"""Read an ``.onnx`` file without its weights, bind its free dimensions, infer every shape.

* Weights are never read: the protobuf is parsed from a skeleton of the file without the
  initializers' large data fields (:mod:`.onnx_skeleton`), and external-data files are only
  checked to exist and be long enough.
* Free dimensions of the graph inputs (``batch``, ``sequence``, unnamed ``?``) are bound
  from ``--dim NAME=VALUE``, ``--input-shape [NAME=]1,3,224,224`` or ``--batch``; every
  one left unbound is named in one error.
* Shapes come from onnx's own shape inference with data propagation (``Shape → Gather →
  Reshape`` chains resolve), never from a hand-written one.

Every failure a file can cause becomes a one-sentence :class:`ChipfitError`.
"""

from __future__ import annotations

import heapq
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path

from chipfit.core.errors import ChipfitError, MissingDependency, first_line
from chipfit.core.fileio import exists, is_file
from chipfit.core.isolate import call_limited
from chipfit.core.limits import LIMITS
from chipfit.frontends.onnx.skeleton import read_skeleton
from chipfit.frontends.resolve import parse_shape

#: tensors up to this many elements keep their values (shape constants, scales) for
#: shape inference's data propagation; larger ones are weights and are dropped
KEEP_VALUES_UP_TO = 1024
#: no dimension may exceed this (a bound or inferred one), no tensor this many elements
MAX_DIM = 2**40
MAX_ELEMS = 2**62
#: rounds of (shape inference, fold the shape arithmetic it made computable)
MAX_FOLD_ROUNDS = 8
#: no tensor may have more dimensions than this
MAX_RANK = 64

# onnx.TensorProto element types, the one place the ONNX frontend spells them out
FLOAT_TYPES = frozenset({1, 10, 11, 16})                # float, float16, double, bfloat16
INTEGER_TYPES = frozenset({2, 3, 4, 5, 6, 7, 9, 12, 13})  # uint8 ... int64, bool, uint32, uint64
#: bits per element (strings excluded)
ELEMENT_BITS = {1: 32, 2: 8, 3: 8, 4: 16, 5: 16, 6: 32, 7: 64, 9: 8, 10: 16, 11: 64, 12: 32, 13: 64,
                14: 64, 15: 128, 16: 16, 17: 8, 18: 8, 19: 8, 20: 8, 21: 4, 22: 4, 23: 4, 24: 8, 25: 2, 26: 2}
#: storage bits of the quantized types: (u)int8, float8 variants, (u)int4, float4, (u)int2
QUANTIZED_BITS = {t: ELEMENT_BITS[t] for t in (2, 3, 17, 18, 19, 20, 21, 22, 23, 25, 26)}

_DATA_FIELDS = ("raw_data", "float_data", "int32_data", "int64_data", "double_data",
                "uint64_data", "string_data")


@dataclass
class Tensor:
    """What the walker knows of one value: shape (None if unknown) and element type."""

    shape: tuple[int, ...] | None
    elem_type: int


@dataclass
class LoadedModel:
    path: Path
    model: object                  # onnx.ModelProto, weights stripped, shapes inferred
    nodes: list                    # graph nodes in a topological order
    values: dict[str, Tensor]      # every value's inferred shape and type
    initializers: dict[str, Tensor]  # initializer (and Constant) shapes and types
    inputs: dict[str, tuple[int, ...]]  # graph inputs with their bound shapes
    notes: list[str] = field(default_factory=list)


def _onnx():
    try:
        import onnx
    except ImportError:
        raise MissingDependency("onnx", "onnx", "reading .onnx files") from None
    return onnx


def parse_bindings(input_shapes: list | None, dims: list | dict | None) -> tuple[dict, dict]:
    """``--input-shape [NAME=]SHAPE`` and ``--dim NAME=VALUE`` into two dicts."""
    shapes: dict[str, tuple[int, ...]] = {}
    for text in input_shapes or []:
        name, eq, body = str(text).rpartition("=")
        if not eq:
            name, body = "", str(text)
        if name.strip() in shapes:
            raise ChipfitError(f"input '{name.strip() or '(the only input)'}' is given two shapes")
        shapes[name.strip()] = parse_shape(body).shape
    bound: dict[str, int] = {}
    items = dims.items() if isinstance(dims, dict) else [str(d).partition("=")[::2] for d in dims or []]
    for name, value in items:
        name = str(name).strip()
        try:
            number = int(str(value).strip())
        except ValueError:
            number = 0
        if not name or number <= 0:
            raise ChipfitError(f"malformed `dims` entry '{name}={value}': expected NAME=POSITIVE_INTEGER such as batch=1")
        if number > MAX_DIM:
            raise ChipfitError(f"`dims` entry {name}={number} is absurdly large (at most {MAX_DIM})")
        bound[name] = number
    return shapes, bound


def load(path: str | os.PathLike, *, input_shapes: list | None = None, dims: list | dict | None = None,
         batch: int | None = None) -> LoadedModel:
    onnx = _onnx()
    path = Path(path).expanduser()
    if not is_file(path):
        raise ChipfitError(f"'{path}' does not exist" if not exists(path) else f"'{path}' is not a file")
    shapes, bound = parse_bindings(input_shapes, dims)
    try:
        data, skipped = read_skeleton(path)  # the weights stored inside the file are never read
        model = onnx.load_model_from_string(data)
    except Exception as exc:
        raise ChipfitError(f"'{path}' is not a readable ONNX model ({first_line(exc)})") from None
    if not model.HasField("graph") or (not model.graph.node and not model.graph.output):
        raise ChipfitError(f"'{path}' is not an ONNX model (no graph in it)")
    _check_text(model, path)
    _check_tensor_data(model, skipped, path)
    _check_external_data(model, path)
    _strip_weights(model)
    _check_structure(model, path)
    inferred, inputs, notes = _prepare_isolated(model, path, shapes, bound, batch)
    inits = {t.name: _checked(Tensor(tuple(t.dims), t.data_type), t.name, path) for t in inferred.graph.initializer}
    values: dict[str, Tensor] = dict(inits)
    for vi in (*inferred.graph.input, *inferred.graph.value_info, *inferred.graph.output):
        values[vi.name] = _tensor(vi, path)
    for node in inferred.graph.node:  # Constant nodes are values too (and may be weights)
        if node.op_type == "Constant" and node.output:
            for a in node.attribute:
                if a.name == "value" and a.HasField("t"):
                    inits[node.output[0]] = values[node.output[0]] = Tensor(tuple(a.t.dims), a.t.data_type)
    return LoadedModel(path, inferred, list(inferred.graph.node), values, inits, inputs, notes)


def _check_structure(model, path: Path) -> None:
    """Refuse, before inlining, a graph whose local functions would inline to more than
    ``LIMITS.max_onnx_nodes`` nodes or nest deeper than ``LIMITS.max_onnx_depth`` (2 KB of
    functions that each call the previous one twice inline to billions of nodes). Sizes are
    counted per function once, so the count itself stays cheap."""
    functions = {(f.domain, f.name): f for f in model.functions}
    sizes: dict[tuple, int] = {}
    calling: set[tuple] = set()

    def size(nodes, depth: int) -> int:
        if depth > LIMITS.max_onnx_depth:
            raise ChipfitError(f"'{path}': its functions and subgraphs nest more than {LIMITS.max_onnx_depth} "
                               f"levels deep, the most chipfit reads (raise the cap with `max_onnx_depth`)")
        total = 0
        for node in nodes:
            key = (node.domain, node.op_type)
            if key in functions:
                if key in calling:
                    raise ChipfitError(f"'{path}': its function '{node.op_type}' calls itself, which "
                                       f"cannot be inlined")
                if key not in sizes:
                    calling.add(key)
                    sizes[key] = size(functions[key].node, depth + 1)
                    calling.discard(key)
                total += sizes[key]
            else:
                total += 1
            for a in node.attribute:
                for g in (*([a.g] if a.HasField("g") else []), *a.graphs):
                    total += size(g.node, depth + 1)
            if total > LIMITS.max_onnx_nodes:
                raise ChipfitError(f"'{path}': its graph, local functions inlined, has more than "
                                   f"{LIMITS.max_onnx_nodes:,} nodes, the most chipfit reads (raise the cap "
                                   f"with `max_onnx_nodes`)")
        return total

    size(model.graph.node, 0)


def _prepare_isolated(model, path: Path, shapes: dict, bound: dict, batch: int | None):
    """:func:`_prepare` in a child process with bounded memory and time: inlining, shape
    inference and folding run onnx's C++ code on a file chipfit did not write, and a few
    kilobytes of it can ask for gigabytes."""
    onnx = _onnx()
    out = call_limited(_prepare_bytes, model.SerializeToString(), path, shapes, bound, batch,
                       memory_bytes=int(LIMITS.onnx_memory_gb * 2**30), seconds=LIMITS.onnx_seconds,
                       what=f"'{path}': reading the model (inlining, shape inference, folding)",
                       memory_cap="onnx_memory_gb", time_cap="onnx_seconds")
    length = int.from_bytes(out[:8], "little")
    head = json.loads(out[8:8 + length])
    inputs = {name: tuple(shape) for name, shape in head["inputs"].items()}
    return onnx.load_model_from_string(out[8 + length:]), inputs, head["notes"]


def _prepare_bytes(data: bytes, path: Path, shapes: dict, bound: dict, batch: int | None) -> bytes:
    model, inputs, notes = _prepare(_onnx().load_model_from_string(data), path, shapes, bound, batch)
    head = json.dumps({"inputs": inputs, "notes": notes}).encode()
    return len(head).to_bytes(8, "little") + head + model.SerializeToString()


def _prepare(model, path: Path, shapes: dict, bound: dict, batch: int | None):
    """Inline local functions, bind the inputs, order the nodes, infer every shape and fold the
    shape arithmetic: (the inferred model, the bound inputs, notes)."""
    notes: list[str] = []
    if model.functions:
        try:
            from onnx import inliner

            model = inliner.inline_local_functions(model)
        except MemoryError:
            raise
        except Exception as exc:
            raise ChipfitError(f"'{path}': inlining its local functions failed ({first_line(exc)})") from None
    graph = model.graph
    inits = {t.name: _checked(Tensor(tuple(t.dims), t.data_type), t.name, path) for t in graph.initializer}
    inputs = _bind_inputs(graph, inits, shapes, bound, batch, notes)
    nodes = _topological(graph, set(inits) | set(inputs), path)
    del graph.node[:]
    graph.node.extend(nodes)
    for v in graph.output:  # re-inferred: a declared output shape must not clash with new bindings
        if v.type.HasField("tensor_type"):
            v.type.tensor_type.ClearField("shape")
    del graph.value_info[:]
    inferred = _infer(model, path)
    for vi in (*inferred.graph.value_info, *inferred.graph.output):
        if vi.type.HasField("tensor_type") and len(vi.type.tensor_type.shape.dim) > MAX_RANK:
            raise ChipfitError(f"'{path}': value '{vi.name}' has an absurd rank "
                               f"({len(vi.type.tensor_type.shape.dim):,} dimensions)")
    for _ in range(MAX_FOLD_ROUNDS):
        if not _fold_shape_arithmetic(inferred):
            break
        inferred = _infer(inferred, path)
    return inferred, inputs, notes


def _check_text(model, path: Path) -> None:
    """Every string field must be UTF-8 text (protobuf hands invalid UTF-8 over as bytes)."""
    from google.protobuf.descriptor import FieldDescriptor

    stack = [model]
    while stack:
        message = stack.pop()
        for desc, value in message.ListFields():
            repeated = getattr(desc, "is_repeated", None)
            if repeated is None:
                repeated = desc.label == FieldDescriptor.LABEL_REPEATED
            items = value if repeated else (value,)
            if desc.type == FieldDescriptor.TYPE_STRING:
                for item in items:
                    if isinstance(item, bytes):
                        raise ChipfitError(f"'{path}': its {desc.name} {item[:40]!r} is not UTF-8 text")
            elif desc.type == FieldDescriptor.TYPE_MESSAGE:
                stack.extend(items)


_ONE_PER_ELEMENT = {1, 2, 3, 4, 5, 6, 7, 9, 10, 11, 12, 13, 16}


def _check_tensor_data(model, skipped: dict, path: Path) -> None:
    """Every weight's stored bytes must match its declared dims (a tensor declaring 2**40
    elements over 8 bytes would make shape inference build absurd shapes)."""
    tensors = [(t, skipped.get(t.name, {})) for t in model.graph.initializer]
    tensors += [(a.t, {}) for n in model.graph.node if n.op_type == "Constant"
                for a in n.attribute if a.HasField("t")]
    for t, left_out in tensors:
        numel = math.prod(t.dims)
        bits = ELEMENT_BITS.get(t.data_type)
        if t.data_location == 1:  # EXTERNAL: the length it claims (checked against the file later)
            length = {e.key: e.value for e in t.external_data}.get("length")
            if bits and length and length.isdigit() and int(length) != -(-numel * bits // 8):
                raise ChipfitError(f"'{path}': weight '{t.name}' declares {numel:,} elements but its external "
                                   f"data is {int(length):,} bytes long")
            continue
        raw = len(t.raw_data) + left_out.get(9, 0)
        typed = (len(t.float_data) + len(t.int32_data) + len(t.int64_data) + len(t.double_data)
                 + len(t.uint64_data) + len(t.string_data))
        if raw and bits:
            ok = raw == -(-numel * bits // 8)
        elif typed and not left_out and t.data_type in _ONE_PER_ELEMENT:
            ok = typed == numel
        else:
            ok = bool(raw or typed or left_out) or numel == 0
        if not ok:
            raise ChipfitError(f"'{path}': tensor '{t.name}' declares {numel:,} elements, "
                               f"which its stored data does not hold")


def _infer(model, path: Path):
    try:
        return _onnx().shape_inference.infer_shapes(model, check_type=False, strict_mode=False, data_prop=True)
    except MemoryError:
        raise
    except Exception as exc:
        raise ChipfitError(f"'{path}': onnx shape inference failed ({first_line(exc)})") from None


_NEVER_FOLD = {"RandomNormal", "RandomNormalLike", "RandomUniform", "RandomUniformLike", "Bernoulli",
               "Multinomial", "If", "Loop", "Scan", "SequenceMap"}


def _fold_shape_arithmetic(model) -> bool:
    """Compute small integer tensors derived from constants and known shapes (``Shape → Slice
    → Mod → Concat → Reshape``), which onnx's data propagation does not cover for every op,
    with onnx's reference evaluator, and put them in the graph as Constant nodes, so that the
    next round of shape inference sees them. Returns whether anything was folded."""
    import numpy as np
    from onnx import helper, numpy_helper
    from onnx.reference import ReferenceEvaluator

    graph = model.graph
    types = {vi.name: vi.type.tensor_type for vi in (*graph.input, *graph.value_info, *graph.output)
             if vi.type.HasField("tensor_type")}
    known: dict[str, object] = {}
    for t in graph.initializer:
        if t.data_location != 1 and t.data_type in INTEGER_TYPES and math.prod(t.dims) <= KEEP_VALUES_UP_TO:
            try:
                known[t.name] = numpy_helper.to_array(t)
            except Exception:
                pass
    replaced: dict[int, list] = {}
    for index, node in enumerate(graph.node):
        outs = [o for o in node.output if o]
        ins = [i for i in node.input if i]
        if not outs or node.op_type in _NEVER_FOLD or node.domain not in ("", "ai.onnx"):
            continue
        if node.op_type in ("Shape", "Size"):
            dims = _static_dims(types.get(ins[0])) if ins else None
            if dims is None:
                continue
            attrs = {a.name: a.i for a in node.attribute}
            value = (np.array(dims[attrs.get("start", 0):attrs.get("end", len(dims))], dtype=np.int64)
                     if node.op_type == "Shape" else np.array(math.prod(dims), dtype=np.int64))
            results = [value]
        elif all(i in known for i in ins) and all(_small_integer(types.get(o)) for o in outs):
            value = node.attribute[0] if node.op_type == "Constant" and len(node.attribute) == 1 else None
            if value is not None and value.name in ("value", "value_int", "value_ints"):
                if value.name == "value" and value.t.data_type not in INTEGER_TYPES:
                    continue
                try:
                    results = [numpy_helper.to_array(value.t) if value.name == "value"
                               else np.array(helper.get_attribute_value(value), dtype=np.int64)]
                except Exception:
                    continue
            else:
                try:
                    single = helper.make_model(
                        helper.make_graph([node], "fold", [], [helper.make_tensor_value_info(o, 0, None) for o in outs]),
                        opset_imports=model.opset_import, ir_version=model.ir_version)
                    results = ReferenceEvaluator(single).run(None, {i: known[i] for i in ins})
                except Exception:
                    continue
        else:
            continue
        arrays = [np.asarray(r) for r in results]
        if len(arrays) != len(outs) or any(a.size > KEEP_VALUES_UP_TO or a.dtype.kind not in "iub" for a in arrays):
            continue
        known.update(zip(outs, arrays))
        if node.op_type != "Constant":
            replaced[index] = [helper.make_node("Constant", [], [o], name=f"{node.name or o}:folded",
                                                value=numpy_helper.from_array(a, o)) for o, a in zip(outs, arrays)]
    if not replaced:
        return False
    nodes = []
    for index, node in enumerate(graph.node):
        nodes.extend(replaced.get(index, [node]))
    del graph.node[:]
    graph.node.extend(nodes)
    del graph.value_info[:]
    return True


def _static_dims(t) -> list[int] | None:
    if t is None or not t.HasField("shape"):
        return None
    dims = [d.dim_value if d.HasField("dim_value") else None for d in t.shape.dim]
    return None if None in dims else dims


def _small_integer(t) -> bool:
    """Is this value an integer tensor known to be small (safe to compute)?"""
    if t is None or t.elem_type not in INTEGER_TYPES:
        return False
    dims = _static_dims(t)
    return dims is not None and math.prod(dims) <= KEEP_VALUES_UP_TO


def _check_external_data(model, path: Path) -> None:
    """Every external-data file must exist and hold the bytes it is said to hold (never read)."""
    sizes: dict[str, int] = {}
    for t in model.graph.initializer:
        if t.data_location != 1:  # EXTERNAL
            continue
        info = {e.key: e.value for e in t.external_data}
        location = info.get("location", "")
        target = (path.parent / location) if location else None
        if target is None or not location or Path(location).is_absolute() or ".." in Path(location).parts:
            raise ChipfitError(f"'{path}': weight '{t.name}' names an invalid external-data location '{location}'")
        if location not in sizes:
            if not target.is_file():
                raise ChipfitError(f"'{path}': the external-data file '{location}' (weight '{t.name}') is missing; "
                                   f"it must sit next to the model")
            sizes[location] = target.stat().st_size
        try:
            end = int(info.get("offset", 0) or 0) + int(info.get("length", 0) or 0)
        except ValueError:
            raise ChipfitError(f"'{path}': weight '{t.name}' has a malformed external-data offset or length") from None
        if end > sizes[location]:
            raise ChipfitError(f"'{path}': the external-data file '{location}' is truncated "
                               f"(weight '{t.name}' ends at byte {end:,}, the file has {sizes[location]:,})")


def _strip_weights(model) -> None:
    """Drop large values of Constant nodes: shapes need only their dims. (Initializers are
    already without theirs: the skeleton reader left their data out.)"""
    for node in model.graph.node:
        if node.op_type != "Constant":
            continue
        for a in node.attribute:
            if a.HasField("t") and math.prod(a.t.dims) > KEEP_VALUES_UP_TO:
                for f in _DATA_FIELDS:
                    a.t.ClearField(f)


def _dims_of(vi) -> list:
    return list(vi.type.tensor_type.shape.dim) if vi.type.tensor_type.HasField("shape") else []


def _bind_inputs(graph, inits, shapes, bound, batch, notes) -> dict[str, tuple[int, ...]]:
    real = [vi for vi in graph.input if vi.name not in inits]
    names = [vi.name for vi in real]
    if "" in shapes:
        if len(real) != 1:
            raise ChipfitError(f"the model has {len(real)} inputs ({', '.join(names)}): "
                               f"name each one in `input_shape` as NAME=SHAPE")
        shapes[names[0]] = shapes.pop("")
    for name in shapes:
        if name not in names:
            raise ChipfitError(f"the model has no input '{name}'; its inputs are: {', '.join(names)}")
    symbols = {d.dim_param for vi in real for d in _dims_of(vi) if d.dim_param}
    for name in bound:
        if name not in symbols:
            raise ChipfitError(f"the model has no dimension '{name}'; "
                               f"its free dimensions are: {', '.join(sorted(symbols)) or 'none'}")
    unbound: list[str] = []
    out: dict[str, tuple[int, ...]] = {}
    for vi in real:
        if not vi.type.HasField("tensor_type"):
            raise ChipfitError(f"input '{vi.name}' is not a tensor (sequences and maps are not supported)")
        dims = _dims_of(vi)
        given = shapes.get(vi.name)
        if given is not None:
            if dims and len(given) != len(dims):
                raise ChipfitError(f"input '{vi.name}' has {len(dims)} dimensions; `input_shape` gave {len(given)}")
            fixed = [d.dim_value for d in dims if d.HasField("dim_value")]
            if fixed and any(d.HasField("dim_value") and d.dim_value != g for d, g in zip(dims, given)):
                notes.append(f"input '{vi.name}': exported as "
                             f"{'×'.join(str(d.dim_value or d.dim_param or '?') for d in dims)}, counted at "
                             f"{'×'.join(map(str, given))}")
            values = list(given)
        else:
            if not vi.type.tensor_type.HasField("shape"):
                raise ChipfitError(f"input '{vi.name}' has no shape in the model: give it with "
                                   f"`input_shape` {vi.name}=...")
            values = []
            for axis, d in enumerate(dims):
                if d.HasField("dim_value") and d.dim_value > 0:
                    values.append(d.dim_value)
                elif d.dim_param and d.dim_param in bound:
                    values.append(bound[d.dim_param])
                elif axis == 0 and batch is not None:
                    values.append(batch)
                else:
                    label = f"'{d.dim_param}'" if d.dim_param else "an unnamed dimension"
                    unbound.append(f"{label} (input '{vi.name}', axis {axis})")
                    values.append(0)
        if any(v > MAX_DIM for v in values):
            raise ChipfitError(f"input '{vi.name}' has an absurd dimension ({max(values):,})")
        out[vi.name] = tuple(values)
        tt = vi.type.tensor_type
        tt.ClearField("shape")
        for v in values:
            tt.shape.dim.add().dim_value = v
    if unbound:
        example = " ".join(f"`dims` {u.split(chr(39))[1]}=<value>" for u in unbound if u.startswith("'"))
        raise ChipfitError(
            "unbound dimensions: " + ", ".join(unbound) + "; give each in `dims` as NAME=VALUE"
            + (f" ({example})" if example else "") + " or whole shapes in `input_shape` as NAME=1,3,224,224"
        )
    return out


def _topological(graph, available: set[str], path: Path) -> list:
    """The nodes in an order where every input exists before it is read (Kahn's algorithm)."""
    nodes = list(graph.node)
    producer: dict[str, int] = {}
    for i, node in enumerate(nodes):
        for o in node.output:
            if o:
                producer[o] = i
    waiting = [0] * len(nodes)
    users: dict[int, list[int]] = {}
    for i, node in enumerate(nodes):
        for name in set(_reads(node)):
            if name in available:
                continue
            if name not in producer:
                raise ChipfitError(f"'{path}': node '{node.name or node.op_type}' reads '{name}', "
                                   f"which no node, input or initializer provides")
            waiting[i] += 1
            users.setdefault(producer[name], []).append(i)
    ready = [i for i in range(len(nodes)) if waiting[i] == 0]  # a heap: file order where possible
    order: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        order.append(i)
        for j in users.get(i, ()):
            waiting[j] -= 1
            if waiting[j] == 0:
                heapq.heappush(ready, j)
    if len(order) < len(nodes):
        stuck = next(nodes[i] for i in range(len(nodes)) if waiting[i] > 0)
        raise ChipfitError(f"'{path}': the graph has a cycle (through node '{stuck.name or stuck.op_type}')")
    return [nodes[i] for i in order]


def _reads(node) -> list[str]:
    """Tensor names a node reads, including those its subgraphs take from outside."""
    names = [i for i in node.input if i]
    for a in node.attribute:
        for g in ([a.g] if a.HasField("g") else []) + list(a.graphs):
            inner = {o for n in g.node for o in n.output} | {i.name for i in g.input} | {t.name for t in g.initializer}
            names += [i for n in g.node for i in _reads(n) if i not in inner]
    return names


def _tensor(vi, path: Path) -> Tensor:
    t = vi.type.tensor_type if vi.type.HasField("tensor_type") else None
    if t is None:
        return Tensor(None, 0)
    if not t.HasField("shape"):
        return Tensor(None, t.elem_type)
    if not all(d.HasField("dim_value") for d in t.shape.dim):
        return Tensor(None, t.elem_type)
    return _checked(Tensor(tuple(d.dim_value for d in t.shape.dim), t.elem_type), vi.name, path)


def _checked(t: Tensor, name: str, path: Path) -> Tensor:
    if t.shape is not None and len(t.shape) > MAX_RANK:
        raise ChipfitError(f"'{path}': tensor '{name}' has an absurd rank ({len(t.shape):,} dimensions)")
    n = 1
    for d in t.shape or ():
        if d < 0 or d > MAX_DIM:
            raise ChipfitError(f"'{path}': tensor '{name}' has an absurd dimension ({d:,})")
        n *= d
    if n > MAX_ELEMS:
        raise ChipfitError(f"'{path}': tensor '{name}' would hold an absurd number of elements ({n:.3g})")
    return t
