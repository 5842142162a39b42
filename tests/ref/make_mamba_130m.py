#!/usr/bin/python3
"""A random-weight Mamba the size of mamba-130m, for `qaterm bench`.

Development time only (needs numpy; not committed, about 0.5 GB):

    tests/ref/make_mamba_130m.py [OUTDIR] [--generative]   (default: /tmp/mamba-130m)

writes OUTDIR/config.json (HF MambaConfig keys as state-spaces/mamba-130m-hf
has them: hidden 768, 24 layers, state 16, expand 2, conv 4, dt rank 48,
vocab 50280, no in/out_proj bias, tied embeddings), model.safetensors (F32,
HF names) and tokenizer.json (tests/fixtures/tok/bpe-neox: a small
GPT-NeoX-style vocabulary, enough for timing). By default the checkpoint has
qaterm's span head (qa_outputs) and no lm_head; --generative leaves the span
head out, so the model answers by greedy decoding.

    qaterm bench --model /tmp/mamba-130m --lengths 128,512,2048
"""
import json
import math
import os
import shutil
import struct
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))


def tensors(cfg, rng, span):
    H, N, K, V = cfg["hidden_size"], cfg["state_size"], cfg["conv_kernel"], cfg["vocab_size"]
    D, R = cfg["intermediate_size"], cfg["time_step_rank"]

    def normal(shape, std):
        return (rng.standard_normal(shape, dtype=np.float32) * std).astype(np.float32)

    yield "backbone.embeddings.weight", normal((V, H), 0.02)
    for l in range(cfg["num_hidden_layers"]):
        p = "backbone.layers.%d." % l
        yield p + "norm.weight", np.ones(H, np.float32)
        yield p + "mixer.in_proj.weight", normal((2 * D, H), H ** -0.5)
        yield p + "mixer.conv1d.weight", normal((D, 1, K), K ** -0.5)
        yield p + "mixer.conv1d.bias", np.zeros(D, np.float32)
        yield p + "mixer.x_proj.weight", normal((R + 2 * N, D), D ** -0.5)
        yield p + "mixer.dt_proj.weight", normal((D, R), R ** -0.5)
        dt = np.exp(rng.random(D) * (math.log(0.1) - math.log(0.001)) + math.log(0.001))
        yield p + "mixer.dt_proj.bias", (dt + np.log(-np.expm1(-dt))).astype(np.float32)
        yield p + "mixer.A_log", np.log(np.tile(np.arange(1, N + 1, dtype=np.float32), (D, 1)))
        yield p + "mixer.D", np.ones(D, np.float32)
        yield p + "mixer.out_proj.weight", normal((H, D), D ** -0.5 / math.sqrt(cfg["num_hidden_layers"]))
    yield "backbone.norm_f.weight", np.ones(H, np.float32)
    if span:
        yield "qa_outputs.weight", normal((2, H), H ** -0.5)
        yield "qa_outputs.bias", np.zeros(2, np.float32)


def write_safetensors(path, named):
    """Streams the tensors (header first, then the data in the same order)."""
    named = sorted(named, key=lambda kv: kv[0])
    header, off = {"__metadata__": {"format": "pt"}}, 0
    for name, arr in named:
        header[name] = {"dtype": "F32", "shape": list(arr.shape), "data_offsets": [off, off + arr.nbytes]}
        off += arr.nbytes
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text)
        for _, arr in named:
            f.write(np.ascontiguousarray(arr, dtype="<f4").tobytes())


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    span = "--generative" not in sys.argv
    out = args[0] if args else "/tmp/mamba-130m"
    os.makedirs(out, exist_ok=True)
    cfg = {"architectures": ["MambaForCausalLM"], "model_type": "mamba", "vocab_size": 50280,
           "hidden_size": 768, "state_size": 16, "num_hidden_layers": 24, "layer_norm_epsilon": 1e-5,
           "expand": 2, "intermediate_size": 1536, "conv_kernel": 4, "use_bias": False,
           "use_conv_bias": True, "hidden_act": "silu", "time_step_rank": 48, "residual_in_fp32": True,
           "bos_token_id": 0, "eos_token_id": 0, "pad_token_id": 0, "tie_word_embeddings": True,
           "qaterm_name": "mamba-130m-random" + ("" if span else "-lm"),
           "qaterm_qa_mode": "span" if span else "generative"}
    rng = np.random.default_rng(130)
    write_safetensors(os.path.join(out, "model.safetensors"), list(tensors(cfg, rng, span)))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    shutil.copy(os.path.join(SRC, "tests/fixtures/tok/bpe-neox/tokenizer.json"), out)
    print(out)


if __name__ == "__main__":
    main()
