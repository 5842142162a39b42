#!/usr/bin/python3
"""Builds qaterm's Unigram (SentencePiece) test tokenizers (dev time only).

Debian's python3-sentencepiece trains the models on the contexts of SQuAD's
train-v1.1.json; this script then converts each .model into a Hugging Face
tokenizer.json the way transformers' slow->fast converters lay them out, so
that tests/ref/unigram_ref.js can ask the npm `tokenizers` package what every
text must encode to. CI never runs this; it checks the committed outputs.

    /usr/bin/python3 tests/ref/unigram_ref.py train SQUAD_DIR OUTDIR

writes, under OUTDIR (normally tests/fixtures/tok):

    unigram/tokenizer.json     T5's layout: 8000 pieces trained with
                               sentencepiece's nmt_nfkc rules, so the
                               normalizer holds the Precompiled charsmap,
                               then Strip(right) and Replace(" {2,}" -> "▁");
                               Metaspace (prepend "always"), </s> appended by
                               TemplateProcessing, <pad>=0 </s>=1 <unk>=2 and
                               eight <extra_id_N> tokens (in T5's reversed
                               order) after the pieces.
    unigram-bf/tokenizer.json  a Llama-like layout with byte fallback: 2000
                               pieces, identity normalization (no charsmap),
                               Metaspace (prepend "first", no split), <unk>=0
                               <s>=1 </s>=2, decoder Replace/ByteFallback/
                               Fuse/Strip.

    /usr/bin/python3 tests/ref/unigram_ref.py convert MODEL OUT.json [t5|bf] [N_EXTRA]

converts one sentencepiece model (tests/ref/t5_ref.py uses this for its small
tokenizer).

The .model files are not kept: the tokenizer.json files hold everything.
"""
import json
import os
import struct
import sys
import tempfile

try:
    import sentencepiece as spm
except ImportError:  # pragma: no cover - dev tool
    sys.exit("unigram_ref.py: needs Debian's python3-sentencepiece (run with /usr/bin/python3)")

# sentencepiece_model.proto numbers (ModelProto and its messages)
PIECES, TRAINER_SPEC, NORMALIZER_SPEC = 1, 2, 3
PIECE_TEXT, PIECE_SCORE, PIECE_TYPE = 1, 2, 3
TYPE_NORMAL, TYPE_UNKNOWN, TYPE_CONTROL, TYPE_USER, TYPE_UNUSED, TYPE_BYTE = 1, 2, 3, 4, 5, 6
TRAINER_MODEL_TYPE, TRAINER_BYTE_FALLBACK, TRAINER_UNK_ID = 3, 35, 40
NORMALIZER_CHARSMAP = 2


def varint(buf, i):
    shift = value = 0
    while True:
        b = buf[i]
        i += 1
        value |= (b & 0x7F) << shift
        shift += 7
        if b < 0x80:
            return value, i


def fields(buf):
    """(field number, wire type, value) of a protobuf message, in order."""
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 2:
            n, i = varint(buf, i)
            v, i = buf[i:i + n], i + n
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt} not expected in a sentencepiece model")
        yield num, wt, v


def read_model(path):
    """The pieces (text, score, type), the charsmap and trainer options."""
    with open(path, "rb") as f:
        buf = f.read()
    pieces, charsmap = [], b""
    trainer = {"model_type": 1, "byte_fallback": False, "unk_id": 0}
    for num, _, v in fields(buf):
        if num == PIECES:
            p = {"type": TYPE_NORMAL, "score": 0.0}
            for n2, _, v2 in fields(v):
                if n2 == PIECE_TEXT:
                    p["piece"] = v2.decode("utf-8")
                elif n2 == PIECE_SCORE:
                    p["score"] = struct.unpack("<f", v2)[0]
                elif n2 == PIECE_TYPE:
                    p["type"] = v2
            pieces.append(p)
        elif num == TRAINER_SPEC:
            for n2, _, v2 in fields(v):
                if n2 == TRAINER_MODEL_TYPE:
                    trainer["model_type"] = v2
                elif n2 == TRAINER_BYTE_FALLBACK:
                    trainer["byte_fallback"] = bool(v2)
                elif n2 == TRAINER_UNK_ID:
                    trainer["unk_id"] = v2
        elif num == NORMALIZER_SPEC:
            for n2, _, v2 in fields(v):
                if n2 == NORMALIZER_CHARSMAP:
                    charsmap = bytes(v2)
    if trainer["model_type"] != 1:
        raise ValueError(f"{path}: not a unigram model")
    return pieces, charsmap, trainer


def added(i, content):
    return {"id": i, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": True}


def template(single, pair, specials):
    return {"type": "TemplateProcessing", "single": single, "pair": pair,
            "special_tokens": {t: {"id": t, "ids": [i], "tokens": [t]} for t, i in specials}}


def seq(name, type_id=0):
    return {"Sequence": {"id": name, "type_id": type_id}}


def special(name, type_id=0):
    return {"SpecialToken": {"id": name, "type_id": type_id}}


def convert(model_path, layout="t5", n_extra=0):
    """A tokenizer.json (as a dict) for a sentencepiece unigram model."""
    import base64
    pieces, charsmap, trainer = read_model(model_path)
    vocab = [[p["piece"], p["score"]] for p in pieces]
    specials = [(i, p["piece"]) for i, p in enumerate(pieces) if p["type"] in (TYPE_UNKNOWN, TYPE_CONTROL)]
    tok = {"version": "1.0", "truncation": None, "padding": None}
    if layout == "t5":
        # T5Converter: extra ids after the pieces, the highest number first
        for k in range(n_extra - 1, -1, -1):
            vocab.append([f"<extra_id_{k}>", 0.0])
        ids = {p: i for i, (p, _) in enumerate(vocab)}
        tok["added_tokens"] = [added(i, p) for i, p in specials] + \
            [added(ids[f"<extra_id_{k}>"], f"<extra_id_{k}>") for k in range(n_extra - 1, -1, -1)]
        norms = [{"type": "Strip", "strip_left": False, "strip_right": True},
                 {"type": "Replace", "pattern": {"Regex": " {2,}"}, "content": "\u2581"}]
        if charsmap:
            norms.insert(0, {"type": "Precompiled",
                             "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")})
        tok["normalizer"] = {"type": "Sequence", "normalizers": norms}
        ms = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "always", "split": True}
        tok["pre_tokenizer"] = ms
        eos = ids["</s>"]
        tok["post_processor"] = template([seq("A"), special("</s>")],
                                         [seq("A"), special("</s>"), seq("B", 1), special("</s>", 1)],
                                         [("</s>", eos)])
        tok["decoder"] = dict(ms)
    else:
        ids = {p["piece"]: i for i, p in enumerate(pieces)}
        tok["added_tokens"] = [added(i, p) for i, p in specials]
        tok["normalizer"] = None
        if charsmap:
            tok["normalizer"] = {"type": "Precompiled",
                                 "precompiled_charsmap": base64.b64encode(charsmap).decode("ascii")}
        tok["pre_tokenizer"] = {"type": "Metaspace", "replacement": "\u2581", "prepend_scheme": "first",
                                "split": False}
        bos = ids["<s>"]
        tok["post_processor"] = template([special("<s>"), seq("A")],
                                         [special("<s>"), seq("A"), special("<s>", 1), seq("B", 1)],
                                         [("<s>", bos)])
        tok["decoder"] = {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
            {"type": "ByteFallback"}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}
    tok["model"] = {"type": "Unigram", "unk_id": trainer["unk_id"], "vocab": vocab,
                    "byte_fallback": trainer["byte_fallback"]}
    return tok


def write_json(path, obj):
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, ensure_ascii=False, separators=(",", ":"))
        f.write("\n")


def train_texts(squad_dir):
    with open(os.path.join(squad_dir, "train-v1.1.json"), encoding="utf-8") as f:
        d = json.load(f)
    seen, out = set(), []
    for a in d["data"]:
        for p in a["paragraphs"]:
            c = p["context"].replace("\n", " ")
            if c not in seen:
                seen.add(c)
                out.append(c)
    return out


def train(text_file, prefix, **opts):
    spm.SentencePieceTrainer.train(input=text_file, model_prefix=prefix, model_type="unigram",
                                   num_threads=1, minloglevel=1, **opts)
    return prefix + ".model"


def cmd_train(squad_dir, out_dir):
    with tempfile.TemporaryDirectory() as tmp:
        text_file = os.path.join(tmp, "train.txt")
        with open(text_file, "w", encoding="utf-8") as f:
            f.write("\n".join(train_texts(squad_dir)) + "\n")
        print("training unigram (T5 layout, nmt_nfkc)", file=sys.stderr)
        m = train(text_file, os.path.join(tmp, "t5"), vocab_size=8000, pad_id=0, eos_id=1, unk_id=2,
                  bos_id=-1, character_coverage=0.9995)
        write_json(os.path.join(out_dir, "unigram", "tokenizer.json"), convert(m, "t5", 8))
        print("training unigram-bf (byte fallback, identity)", file=sys.stderr)
        m = train(text_file, os.path.join(tmp, "bf"), vocab_size=2000, unk_id=0, bos_id=1, eos_id=2,
                  pad_id=-1, byte_fallback=True, character_coverage=0.995,
                  normalization_rule_name="identity")
        write_json(os.path.join(out_dir, "unigram-bf", "tokenizer.json"), convert(m, "bf"))


def main(argv):
    if len(argv) == 3 and argv[0] == "train":
        cmd_train(argv[1], argv[2])
    elif len(argv) in (3, 4, 5) and argv[0] == "convert":
        layout = argv[3] if len(argv) > 3 else "t5"
        n_extra = int(argv[4]) if len(argv) > 4 else 0
        write_json(argv[2], convert(argv[1], layout, n_extra))
    else:
        sys.exit("usage: unigram_ref.py train SQUAD_DIR OUTDIR | convert MODEL OUT.json [t5|bf] [N_EXTRA]")


if __name__ == "__main__":
    main(sys.argv[1:])
