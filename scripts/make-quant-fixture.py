#!/usr/bin/env python3
"""Writes Tests/TensorTests/Fixtures/quant-blocks.{gguf,json}: for every tensor type the engine
supports, a 2-row tensor of random blocks (scales kept finite) and the values gguf-py's
`gguf.quants.dequantize` gives for it. The Swift kernels are checked against these values, so the
block formats are pinned to an implementation nobody here wrote. Needs `pip install gguf numpy`."""
import json, sys
import numpy as np
import gguf
from gguf.quants import dequantize

rng = np.random.default_rng(1234)
ROW = 512  # two 256-blocks; sixteen 32-blocks
types = {
    "F32": (gguf.GGMLQuantizationType.F32, 1, 4), "F16": (gguf.GGMLQuantizationType.F16, 1, 2),
    "BF16": (gguf.GGMLQuantizationType.BF16, 1, 2), "Q4_0": (gguf.GGMLQuantizationType.Q4_0, 32, 18),
    "Q4_1": (gguf.GGMLQuantizationType.Q4_1, 32, 20), "Q5_0": (gguf.GGMLQuantizationType.Q5_0, 32, 22),
    "Q5_1": (gguf.GGMLQuantizationType.Q5_1, 32, 24), "Q8_0": (gguf.GGMLQuantizationType.Q8_0, 32, 34),
    "Q4_K": (gguf.GGMLQuantizationType.Q4_K, 256, 144), "Q5_K": (gguf.GGMLQuantizationType.Q5_K, 256, 176),
    "Q6_K": (gguf.GGMLQuantizationType.Q6_K, 256, 210),
}

def half(x):
    return np.frombuffer(np.float16(x).tobytes(), dtype=np.uint8)

def random_blocks(name, nblocks, bs):
    if name == "F32":
        return rng.standard_normal(nblocks).astype(np.float32).view(np.uint8)
    if name == "F16":
        return rng.standard_normal(nblocks).astype(np.float16).view(np.uint8)
    if name == "BF16":
        f = rng.standard_normal(nblocks).astype(np.float32)
        return (f.view(np.uint32) >> 16).astype(np.uint16).view(np.uint8)
    out = []
    for _ in range(nblocks):
        b = rng.integers(0, 256, size=bs, dtype=np.uint8)
        scale = lambda: half(rng.uniform(0.001, 0.05) * rng.choice([-1, 1]))
        if name in ("Q4_0", "Q5_0", "Q8_0"):
            b[0:2] = scale()
        elif name in ("Q4_1", "Q5_1"):
            b[0:2] = scale(); b[2:4] = half(rng.uniform(-0.2, 0.2))
        elif name in ("Q4_K", "Q5_K"):
            b[0:2] = half(rng.uniform(0.001, 0.05)); b[2:4] = half(rng.uniform(0.001, 0.05))
        elif name == "Q6_K":
            b[208:210] = half(rng.uniform(0.001, 0.05))
        out.append(b)
    return np.concatenate(out)

writer = gguf.GGUFWriter(sys.argv[1] + ".gguf", "fixture")
expected = {}
for name, (t, bs, bb) in types.items():
    nblocks = 2 * ROW // bs
    raw = random_blocks(name, nblocks, bb)
    rows = raw.reshape(2, -1)
    if name == "F32":
        writer.add_tensor(name, rows.view(np.float32))
    elif name == "F16":
        writer.add_tensor(name, rows.view(np.float16))
    else:
        writer.add_tensor(name, rows, raw_dtype=t)  # byte shape (2, row bytes)
    expected[name] = [float(v) for v in dequantize(rows, t).reshape(-1)]
writer.write_header_to_file(); writer.write_kv_data_to_file(); writer.write_tensors_to_file(); writer.close()
json.dump({"row_length": ROW, "rows": 2, "gguf_py": gguf.__version__ if hasattr(gguf, "__version__") else "0.19.0",
           "values": expected}, open(sys.argv[1] + ".json", "w"))
