#!/usr/bin/python3
"""A BERT-base-shaped random checkpoint for `qaterm bench` and bench_torch.py.

    tests/ref/make_bert_base.py [OUTDIR]        (default /tmp/qaterm-bert-base)

Writes OUTDIR/config.json (BertForQuestionAnswering, 12 layers, hidden 768,
12 heads, intermediate 3072, 512 positions, vocab 30522), model.safetensors
(F32, Hugging Face tensor names, about 435 MB, streamed to disk) and a
synthetic WordPiece vocab.txt of the same size. The weights are random
(normal, std 0.02 as BERT's initializer; LayerNorm 1 and 0), so answers are
meaningless: it is for timing only and is never committed. Needs numpy.
"""
import json
import os
import struct
import sys

import numpy as np

CONFIG = {
    "architectures": ["BertForQuestionAnswering"], "model_type": "bert",
    "attention_probs_dropout_prob": 0.1, "hidden_act": "gelu", "hidden_dropout_prob": 0.1,
    "hidden_size": 768, "initializer_range": 0.02, "intermediate_size": 3072,
    "layer_norm_eps": 1e-12, "max_position_embeddings": 512, "num_attention_heads": 12,
    "num_hidden_layers": 12, "pad_token_id": 0, "position_embedding_type": "absolute",
    "torch_dtype": "float32", "type_vocab_size": 2, "vocab_size": 30522,
    "qaterm_name": "bert-base-random",
}


def tensor_specs(cfg):
    h, inter, v = cfg["hidden_size"], cfg["intermediate_size"], cfg["vocab_size"]
    specs = [
        ("bert.embeddings.word_embeddings.weight", [v, h]),
        ("bert.embeddings.position_embeddings.weight", [cfg["max_position_embeddings"], h]),
        ("bert.embeddings.token_type_embeddings.weight", [cfg["type_vocab_size"], h]),
        ("bert.embeddings.LayerNorm.weight", [h]),
        ("bert.embeddings.LayerNorm.bias", [h]),
    ]
    for layer in range(cfg["num_hidden_layers"]):
        p = "bert.encoder.layer.%d." % layer
        for name, shape in [
            ("attention.self.query", [h, h]), ("attention.self.key", [h, h]),
            ("attention.self.value", [h, h]), ("attention.output.dense", [h, h]),
            ("intermediate.dense", [inter, h]), ("output.dense", [h, inter]),
        ]:
            specs.append((p + name + ".weight", shape))
            specs.append((p + name + ".bias", shape[:1]))
        for name in ("attention.output.LayerNorm", "output.LayerNorm"):
            specs.append((p + name + ".weight", [h]))
            specs.append((p + name + ".bias", [h]))
    specs.append(("qa_outputs.weight", [2, h]))
    specs.append(("qa_outputs.bias", [2]))
    return specs


def values(name, shape, rng):
    if "LayerNorm.weight" in name:
        return np.ones(shape, dtype="<f4")
    if name.endswith(".bias"):
        return np.zeros(shape, dtype="<f4")
    return (rng.standard_normal(shape, dtype=np.float32) * 0.02).astype("<f4")


def write_safetensors(path, specs, rng):
    header, offset = {"__metadata__": {"format": "pt"}}, 0
    for name, shape in specs:
        n = 4 * int(np.prod(shape))
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + n]}
        offset += n
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for name, shape in specs:
            f.write(values(name, shape, rng).tobytes())


def write_vocab(path, size):
    tokens = ["[PAD]"] + ["[unused%d]" % i for i in range(99)] + ["[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    tokens += [chr(c) for c in range(33, 127)]
    tokens += ["##" + chr(c) for c in range(33, 127)]
    i = 0
    while len(tokens) < size:
        tokens.append("w%05d" % i)
        i += 1
    with open(path, "w") as f:
        f.write("\n".join(tokens[:size]) + "\n")


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/qaterm-bert-base"
    os.makedirs(out, exist_ok=True)
    rng = np.random.default_rng(20240601)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(CONFIG, f, indent=2)
        f.write("\n")
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": True}, f)
        f.write("\n")
    write_vocab(os.path.join(out, "vocab.txt"), CONFIG["vocab_size"])
    specs = tensor_specs(CONFIG)
    write_safetensors(os.path.join(out, "model.safetensors"), specs, rng)
    n = sum(int(np.prod(s)) for _, s in specs)
    print("%s: %d parameters (%.0f MB)" % (out, n, 4 * n / 1e6))


if __name__ == "__main__":
    main()
