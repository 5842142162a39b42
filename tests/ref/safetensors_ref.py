#!/usr/bin/python3
"""Independent safetensors reference (dev time only; needs numpy).

Written from the format description alone (8-byte little-endian header
length N, N bytes of JSON {name: {dtype, shape, data_offsets}}, optional
"__metadata__" of strings, then the data region, tensors covering it
exactly), with struct + json + numpy, sharing nothing with the C code.

  safetensors_ref.py write OUTDIR
      OUTDIR/ref.safetensors and OUTDIR/ref_expected.json (the bit patterns
      each tensor must load as); committed under tests/fixtures/safetensors/
      and checked by tests/unit/test_safetensors.
  safetensors_ref.py check FILE [EXPECTED.json]
      strict parse of FILE (e.g. one written by qaterm's C writer); prints
      the tensors; with EXPECTED, compares the stored values.
  safetensors_ref.py seeds OUTDIR
      small seed files for fuzz/corpus/safetensors.
"""
import json
import math
import os
import struct
import sys

import numpy as np

SIZES = {"BOOL": 1, "U8": 1, "I8": 1, "I16": 2, "U16": 2, "I32": 4, "U32": 4, "I64": 8, "U64": 8,
         "F16": 2, "BF16": 2, "F32": 4, "F64": 8, "C64": 8, "F8_E5M2": 1, "F8_E4M3": 1, "F8_E8M0": 1,
         "F8_E4M3FNUZ": 1, "F8_E5M2FNUZ": 1}


def f32_bits(x):
    return struct.unpack("<I", struct.pack("<f", x))[0]


def bf16_round(bits):
    """float32 bits -> bfloat16 bits, round to nearest even, NaN kept NaN."""
    if (bits & 0x7FFFFFFF) > 0x7F800000:
        return (bits >> 16) | 0x40
    return ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) & 0xFFFF


def pack_file(tensors, metadata=None, pad=True):
    """tensors: list of (name, dtype, shape, raw bytes), stored in that order."""
    header = {}
    if metadata is not None:
        header["__metadata__"] = metadata
    data = b""
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": list(shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode("utf-8")
    if pad:
        text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text)) + text + data


def raw_file(header, data):
    return struct.pack("<Q", len(header)) + header + data


def hexes(values, width):
    return ["0x%0*x" % (width, int(v)) for v in values]


def write_reference(outdir):
    src16 = np.array([0.0, -0.0, 1.0, -2.5, 65504.0, 65519.0, 65520.0, 1e-8, 5.9604645e-08,
                      2.9802322e-08, 6.1035156e-05, 6.0975552e-05, 1.0 + 2 ** -11, 1.0 + 3 * 2 ** -11,
                      0.1, 1e5, math.inf, -math.inf, math.nan, 3.14159265],
                     dtype=np.float32)
    with np.errstate(over="ignore"):
        f16 = src16.astype(np.float16)                   # numpy: round to nearest even
    f16_bits = f16.view(np.uint16)
    f16_as_f32 = f16.astype(np.float32).view(np.uint32)  # exact widening

    srcbf = np.array([0.0, -1.0, 1.0 + 2 ** -8, 1.0 + 3 * 2 ** -8, 3.0e38, 3.4028235e38, 1e-40,
                      math.inf, math.nan, 0.3333333], dtype=np.float32)
    bf_bits = np.array([bf16_round(int(b)) for b in srcbf.view(np.uint32)], dtype=np.uint16)
    bf_as_f32 = (bf_bits.astype(np.uint32) << 16)

    f32 = np.array([[0.0, -0.0, 1.0 / 3.0], [1e-40, math.inf, 3.4028235e38]], dtype=np.float32)
    f64 = np.array(0.1, dtype=np.float64)
    ids = np.array([1, -2, 2 ** 40], dtype=np.int64)

    # A 5-element F16 tensor first puts the F32 matrix at data offset 10: not
    # 4-byte aligned, so the C loader must take its copying path.
    odd = np.array([1.0, 2.0, 0.5, -0.25, 1024.0], dtype=np.float16)
    tensors = [
        ("a.odd_f16", "F16", odd.shape, odd.astype("<f2").tobytes()),
        ("b.f32_matrix", "F32", f32.shape, f32.astype("<f4").tobytes()),
        ("c.f16_vector", "F16", f16.shape, f16.astype("<f2").tobytes()),
        ("d.bf16_vector", "BF16", bf_bits.shape, bf_bits.astype("<u2").tobytes()),
        ("e.f64_scalar", "F64", (), f64.astype("<f8").tobytes()),
        ("f.i64_ids", "I64", ids.shape, ids.astype("<i8").tobytes()),
        ("g.empty", "F32", (0, 4), b""),
    ]
    meta = {"format": "pt", "written_by": "tests/ref/safetensors_ref.py"}
    blob = pack_file(tensors, meta)
    expected = {
        "metadata": meta,
        "tensors": {
            "a.odd_f16": {"dtype": "F16", "shape": [5],
                          "f32_bits": hexes(odd.astype(np.float32).view(np.uint32), 8)},
            "b.f32_matrix": {"dtype": "F32", "shape": [2, 3], "f32_bits": hexes(f32.view(np.uint32).ravel(), 8)},
            "c.f16_vector": {"dtype": "F16", "shape": [len(src16)],
                             "source_f32_bits": hexes(src16.view(np.uint32), 8),
                             "stored_bits": hexes(f16_bits, 4), "f32_bits": hexes(f16_as_f32, 8)},
            "d.bf16_vector": {"dtype": "BF16", "shape": [len(srcbf)],
                              "source_f32_bits": hexes(srcbf.view(np.uint32), 8),
                              "stored_bits": hexes(bf_bits, 4), "f32_bits": hexes(bf_as_f32, 8)},
            "e.f64_scalar": {"dtype": "F64", "shape": [],
                             "f32_bits": hexes([f32_bits(float(np.float32(f64)))], 8)},
            "f.i64_ids": {"dtype": "I64", "shape": [3]},
            "g.empty": {"dtype": "F32", "shape": [0, 4], "f32_bits": []},
        },
    }
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "ref.safetensors"), "wb") as f:
        f.write(blob)
    with open(os.path.join(outdir, "ref_expected.json"), "w") as f:
        json.dump(expected, f, indent=1, sort_keys=True)
        f.write("\n")
    print("wrote %s (%d bytes)" % (os.path.join(outdir, "ref.safetensors"), len(blob)))


def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    if len(keys) != len(set(keys)):
        raise ValueError("duplicate key in %r" % keys)
    return dict(pairs)


def parse(blob):
    """Strict parse; raises ValueError. Returns (metadata, {name: info}, data)."""
    if len(blob) < 8:
        raise ValueError("shorter than 8 bytes")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > 100_000_000 or 8 + n > len(blob):
        raise ValueError("bad header length %d" % n)
    text = blob[8:8 + n].decode("utf-8")
    if not text.startswith("{"):
        raise ValueError("header does not start with {")
    header = json.loads(text, object_pairs_hook=no_duplicates)
    if not isinstance(header, dict):
        raise ValueError("header is not an object")
    data = blob[8 + n:]
    meta = header.pop("__metadata__", None)
    if meta is not None and not all(isinstance(v, str) for v in meta.values()):
        raise ValueError("__metadata__ values must be strings")
    spans = []
    for name, info in header.items():
        dtype, shape, (b, e) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in SIZES:
            raise ValueError("%s: unknown dtype %s" % (name, dtype))
        if any((not isinstance(d, int)) or d < 0 for d in shape):
            raise ValueError("%s: bad shape" % name)
        if e - b != math.prod(shape) * SIZES[dtype]:
            raise ValueError("%s: shape and offsets disagree" % name)
        spans.append((b, e, name))
    at = 0
    for b, e, name in sorted(spans):
        if b != at or e < b:
            raise ValueError("%s: hole or overlap at %d" % (name, b))
        at = e
    if at != len(data):
        raise ValueError("data region not covered: %d of %d" % (at, len(data)))
    if n % 8 != 0:
        print("note: header length %d is not a multiple of 8" % n)
    return meta, header, data


def as_f32_bits(dtype, raw):
    if dtype == "F32":
        return np.frombuffer(raw, dtype="<u4")
    if dtype == "F16":
        return np.frombuffer(raw, dtype="<f2").astype(np.float32).view(np.uint32)
    if dtype == "BF16":
        return np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16
    if dtype == "F64":
        return np.frombuffer(raw, dtype="<f8").astype(np.float32).view(np.uint32)
    return None


def check(path, expected_path=None):
    with open(path, "rb") as f:
        blob = f.read()
    meta, header, data = parse(blob)
    print("%s: %d tensors, metadata %s" % (path, len(header), json.dumps(meta, sort_keys=True)))
    for name in sorted(header):
        info = header[name]
        b, e = info["data_offsets"]
        bits = as_f32_bits(info["dtype"], data[b:e])
        vals = "" if bits is None else " " + str(bits.view(np.float32)[:6].tolist())
        print("  %s %s %s%s" % (name, info["dtype"], info["shape"], vals))
    if expected_path:
        with open(expected_path) as f:
            want = json.load(f)
        bad = 0
        for name, w in want["tensors"].items():
            info = header[name]
            if info["dtype"] != w["dtype"] or info["shape"] != w["shape"]:
                print("MISMATCH %s: dtype/shape" % name)
                bad += 1
                continue
            if "f32_bits" in w:
                b, e = info["data_offsets"]
                got = hexes(as_f32_bits(info["dtype"], data[b:e]), 8)
                if got != w["f32_bits"]:
                    print("MISMATCH %s: %s != %s" % (name, got, w["f32_bits"]))
                    bad += 1
        print("compare with %s: %s" % (expected_path, "OK" if not bad else "%d mismatches" % bad))
        return 1 if bad else 0
    return 0


def write_seeds(outdir):
    os.makedirs(outdir, exist_ok=True)
    one = np.array([1.0, -2.0, 0.5], dtype=np.float32)
    seeds = {
        "empty_header": pack_file([]),
        "f32": pack_file([("w", "F32", (3,), one.astype("<f4").tobytes())], {"format": "pt"}),
        "f16_bf16": pack_file([("h", "F16", (2, 2), np.array([1, 65504, np.inf, np.nan], "<f2").tobytes()),
                               ("b", "BF16", (2,), np.array([0x3F80, 0x7FC0], "<u2").tobytes())]),
        "misaligned_f32": pack_file([("x", "U8", (3,), b"\x01\x02\x03"),
                                     ("y", "F32", (1, 2), np.array([1.5, -0.0], "<f4").tobytes())], pad=False),
        "scalar_f64_empty": pack_file([("s", "F64", (), np.array(0.1, "<f8").tobytes()),
                                       ("z", "F32", (0, 3), b"")], {"k": "v"}),
        "i64_bool": pack_file([("ids", "I64", (2,), np.array([7, -1], "<i8").tobytes()),
                               ("m", "BOOL", (2,), b"\x00\x01")]),
        "subbyte_f4": pack_file([("q", "F4", (2,), b"\x21")]),
        # Invalid on purpose: a duplicate name and an overlap.
        "dup_names": raw_file(b'{"a":{"dtype":"U8","shape":[1],"data_offsets":[0,1]},'
                              b'"a":{"dtype":"U8","shape":[1],"data_offsets":[1,2]}}', b"xy"),
        "overlap": raw_file(b'{"a":{"dtype":"U8","shape":[2],"data_offsets":[0,2]},'
                            b'"b":{"dtype":"U8","shape":[2],"data_offsets":[1,3]}}', b"xyz"),
    }
    for name, blob in seeds.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(blob)
    print("wrote %d seeds to %s" % (len(seeds), outdir))


def main(argv):
    if len(argv) >= 3 and argv[1] == "write":
        write_reference(argv[2])
        return 0
    if len(argv) in (3, 4) and argv[1] == "check":
        return check(argv[2], argv[3] if len(argv) == 4 else None)
    if len(argv) == 3 and argv[1] == "seeds":
        write_seeds(argv[2])
        return 0
    sys.stderr.write(__doc__)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
