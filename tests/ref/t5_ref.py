#!/usr/bin/python3
"""Reference T5 (T5ForConditionalGeneration) for qaterm's T5 engine (dev time only).

A PyTorch implementation written from Hugging Face transformers' modeling_t5.py
(names, shapes and arithmetic as there; nothing imported from transformers):
RMS layer norm without bias or mean (T5LayerNorm, fp32 variance, eps from
layer_norm_epsilon), attention without the 1/sqrt(d) scaling, the relative
position bias of block 0 shared by every layer of a stack (bidirectional
buckets in the encoder, causal ones in the decoder, none in cross-attention),
DenseReluDense with wi/wo or gated wi_0/wi_1/wo (feed_forward_proj "relu" or
"gated-gelu" = gelu_new), final_layer_norm, and the decoder output scaled by
d_model**-0.5 before a tied lm_head.

    /usr/bin/python3 tests/ref/t5_ref.py fixtures SQUAD_DIR tests/fixtures

writes tests/fixtures/t5-relu/ (feed_forward_proj "relu", tied embeddings) and
tests/fixtures/t5-gated/ (feed_forward_proj "gated-gelu", untied lm_head, d_kv
16 so the attention width differs from d_model, a longer input so relative
distances pass max_distance, and lm_head's </s> row set so that greedy
decoding stops after a few tokens): config.json with Hugging Face's keys,
model.safetensors with Hugging Face's tensor names, tokenizer.json (a small
Unigram tokenizer trained by tests/ref/unigram_ref.py's functions, identity
normalization), and expected.json: the input ids of the QA prompt (tokenized
by the npm `tokenizers` package, </s> appended), the encoder's final hidden
states, the decoder logits for a teacher-forced sequence, the greedy output
ids (up to 32, stopping at </s>) with their mean log-probability, and the
no-answer string's teacher-forced mean log-probability. Values are rounded
to 7 significant digits.

    /usr/bin/python3 tests/ref/t5_ref.py bench-model OUTDIR

writes a t5-small-shaped checkpoint with random weights (for timing only; not
committed) with tests/fixtures/tok/unigram/tokenizer.json.

Needs torch (python3-torch), sentencepiece and, for tokenizing, node with
NODE_PATH=/work/npm-ref/node_modules (npm install --prefix /work/npm-ref tokenizers).
"""
import json
import math
import os
import shutil
import struct
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import unigram_ref  # noqa: E402

torch.set_num_threads(1)

MAX_NEW_TOKENS = 32
NO_ANSWER = "unanswerable"


# ---- the model ----

def rms_norm(x, w, eps):
    variance = x.to(torch.float32).pow(2).mean(-1, keepdim=True)
    return w * (x * torch.rsqrt(variance + eps))


def gelu_new(x):
    return 0.5 * x * (1.0 + torch.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * torch.pow(x, 3.0))))


ACT = {"relu": torch.relu, "gelu_new": gelu_new, "gelu": torch.nn.functional.gelu,
       "silu": torch.nn.functional.silu}


def relative_position_bucket(relative_position, bidirectional, num_buckets, max_distance):
    relative_buckets = 0
    if bidirectional:
        num_buckets //= 2
        relative_buckets += (relative_position > 0).to(torch.long) * num_buckets
        relative_position = torch.abs(relative_position)
    else:
        relative_position = -torch.min(relative_position, torch.zeros_like(relative_position))
    max_exact = num_buckets // 2
    is_small = relative_position < max_exact
    if_large = max_exact + (
        torch.log(relative_position.float() / max_exact) / math.log(max_distance / max_exact)
        * (num_buckets - max_exact)).to(torch.long)
    if_large = torch.min(if_large, torch.full_like(if_large, num_buckets - 1))
    relative_buckets += torch.where(is_small, relative_position, if_large)
    return relative_buckets


class T5Ref:
    def __init__(self, cfg, w):
        self.cfg, self.w = cfg, w
        act = cfg["feed_forward_proj"].split("-")
        self.gated = act[0] == "gated"
        self.act = ACT["gelu_new" if cfg["feed_forward_proj"] == "gated-gelu" else act[-1]]

    def bias(self, prefix, q_len, k_len, bidirectional):
        c = self.cfg
        ctx = torch.arange(q_len)[:, None]
        mem = torch.arange(k_len)[None, :]
        buckets = relative_position_bucket(mem - ctx, bidirectional, c["relative_attention_num_buckets"],
                                           c["relative_attention_max_distance"])
        table = self.w[prefix + ".block.0.layer.0.SelfAttention.relative_attention_bias.weight"]
        return table[buckets].permute(2, 0, 1).unsqueeze(0)  # [1, heads, q, k]

    def attention(self, p, x, kv, position_bias):
        c = self.cfg
        h, dk = c["num_heads"], c["d_kv"]
        q = (x @ self.w[p + ".q.weight"].T).view(x.shape[0], h, dk).transpose(0, 1)
        k = (kv @ self.w[p + ".k.weight"].T).view(kv.shape[0], h, dk).transpose(0, 1)
        v = (kv @ self.w[p + ".v.weight"].T).view(kv.shape[0], h, dk).transpose(0, 1)
        scores = q @ k.transpose(1, 2)  # no 1/sqrt(d_kv): T5 folds it into the init
        scores = scores + position_bias[0]
        attn = torch.softmax(scores.float(), dim=-1).type_as(scores)
        out = (attn @ v).transpose(0, 1).reshape(x.shape[0], h * dk)
        return out @ self.w[p + ".o.weight"].T

    def ff(self, p, x):
        if self.gated:
            hdn = self.act(x @ self.w[p + ".wi_0.weight"].T) * (x @ self.w[p + ".wi_1.weight"].T)
        else:
            hdn = self.act(x @ self.w[p + ".wi.weight"].T)
        return hdn @ self.w[p + ".wo.weight"].T

    def encode(self, ids):
        c, eps = self.cfg, self.cfg["layer_norm_epsilon"]
        x = self.w["shared.weight"][torch.tensor(ids)]
        bias = self.bias("encoder", len(ids), len(ids), True)
        for i in range(c["num_layers"]):
            p = f"encoder.block.{i}"
            x = x + self.attention(p + ".layer.0.SelfAttention",
                                   rms_norm(x, self.w[p + ".layer.0.layer_norm.weight"], eps),
                                   rms_norm(x, self.w[p + ".layer.0.layer_norm.weight"], eps), bias)
            x = x + self.ff(p + ".layer.1.DenseReluDense", rms_norm(x, self.w[p + ".layer.1.layer_norm.weight"], eps))
        return rms_norm(x, self.w["encoder.final_layer_norm.weight"], eps)

    def decode(self, dec_ids, enc):
        """Logits for every position of dec_ids (teacher forcing, no cache)."""
        c, eps = self.cfg, self.cfg["layer_norm_epsilon"]
        n = len(dec_ids)
        x = self.w["shared.weight"][torch.tensor(dec_ids)]
        causal = torch.triu(torch.full((n, n), float("-inf")), diagonal=1)
        bias = self.bias("decoder", n, n, False) + causal
        cross_bias = torch.zeros(1, c["num_heads"], n, enc.shape[0])
        for i in range(c["num_decoder_layers"]):
            p = f"decoder.block.{i}"
            h = rms_norm(x, self.w[p + ".layer.0.layer_norm.weight"], eps)
            x = x + self.attention(p + ".layer.0.SelfAttention", h, h, bias)
            h = rms_norm(x, self.w[p + ".layer.1.layer_norm.weight"], eps)
            x = x + self.attention(p + ".layer.1.EncDecAttention", h, enc, cross_bias)
            x = x + self.ff(p + ".layer.2.DenseReluDense", rms_norm(x, self.w[p + ".layer.2.layer_norm.weight"], eps))
        x = rms_norm(x, self.w["decoder.final_layer_norm.weight"], eps)
        self.last_hidden = x
        if c["tie_word_embeddings"]:
            x = x * (c["d_model"] ** -0.5)
            return x @ self.w["shared.weight"].T
        return x @ self.w["lm_head.weight"].T

    def greedy(self, enc):
        c = self.cfg
        ids = [c["decoder_start_token_id"]]
        logps, margins = [], []
        for _ in range(MAX_NEW_TOKENS):
            logits = self.decode(ids, enc)[-1].double()
            top = torch.topk(logits, 2)
            margins.append(float(top.values[0] - top.values[1]))
            nxt = int(top.indices[0])
            logps.append(float(torch.log_softmax(logits, -1)[nxt]))
            ids.append(nxt)
            if nxt == c["eos_token_id"]:
                break
        return ids[1:], sum(logps) / len(logps), min(margins)

    def score(self, target, enc):
        """Mean log-probability of target under teacher forcing."""
        ids = [self.cfg["decoder_start_token_id"]] + target
        logp = torch.log_softmax(self.decode(ids[:-1], enc).double(), -1)
        return float(sum(logp[i, t] for i, t in enumerate(target)) / len(target))


def tensor_names(cfg):
    """Every tensor of T5ForConditionalGeneration, with its shape."""
    d, dff, inner, v = cfg["d_model"], cfg["d_ff"], cfg["num_heads"] * cfg["d_kv"], cfg["vocab_size"]
    gated = cfg["feed_forward_proj"].startswith("gated")
    out = {"shared.weight": (v, d)}

    def attn(p):
        for n in "qkv":
            out[f"{p}.{n}.weight"] = (inner, d)
        out[f"{p}.o.weight"] = (d, inner)

    def ff(p):
        if gated:
            out[f"{p}.wi_0.weight"] = (dff, d)
            out[f"{p}.wi_1.weight"] = (dff, d)
        else:
            out[f"{p}.wi.weight"] = (dff, d)
        out[f"{p}.wo.weight"] = (d, dff)

    for stack, n_layers in (("encoder", cfg["num_layers"]), ("decoder", cfg["num_decoder_layers"])):
        for i in range(n_layers):
            p = f"{stack}.block.{i}"
            attn(p + ".layer.0.SelfAttention")
            out[p + ".layer.0.layer_norm.weight"] = (d,)
            if i == 0:
                out[p + ".layer.0.SelfAttention.relative_attention_bias.weight"] = (
                    cfg["relative_attention_num_buckets"], cfg["num_heads"])
            k = 1
            if stack == "decoder":
                attn(p + ".layer.1.EncDecAttention")
                out[p + ".layer.1.layer_norm.weight"] = (d,)
                k = 2
            ff(f"{p}.layer.{k}.DenseReluDense")
            out[f"{p}.layer.{k}.layer_norm.weight"] = (d,)
        out[f"{stack}.final_layer_norm.weight"] = (d,)
    if not cfg["tie_word_embeddings"]:
        out["lm_head.weight"] = (v, d)
    return out


def random_weights(cfg, seed):
    g = torch.Generator().manual_seed(seed)
    w = {}
    for name, shape in tensor_names(cfg).items():
        if name.endswith("layer_norm.weight"):
            t = 1.0 + 0.2 * torch.randn(shape, generator=g)
        elif "relative_attention_bias" in name:
            t = 0.5 * torch.randn(shape, generator=g)
        elif name in ("shared.weight", "lm_head.weight"):
            t = torch.randn(shape, generator=g) * (1.0 if name == "shared.weight" else cfg["d_model"] ** -0.5)
        else:
            t = torch.randn(shape, generator=g) * (shape[1] ** -0.5)
        w[name] = t.to(torch.float32)
    return w


def write_safetensors(path, tensors):
    header, blobs, off = {}, [], 0
    for name in sorted(tensors):
        data = tensors[name].contiguous().numpy().astype("<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(tensors[name].shape), "data_offsets": [off, off + len(data)]}
        blobs.append(data)
        off += len(data)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


# ---- tokenizing with Hugging Face's own package ----

TOKENIZE_JS = r"""
const tk = require('tokenizers');
const [file, ...texts] = JSON.parse(require('fs').readFileSync(0, 'utf8'));
const t = tk.Tokenizer.fromFile(file);
(async () => {
  const out = [];
  for (const s of texts) out.push((await t.encode(s, null, { addSpecialTokens: true })).getIds());
  console.log(JSON.stringify(out));
})();
"""


def hf_encode(tokenizer_json, texts):
    env = dict(os.environ)
    env.setdefault("NODE_PATH", "/work/npm-ref/node_modules")
    r = subprocess.run(["node", "-e", TOKENIZE_JS], input=json.dumps([tokenizer_json] + texts).encode(),
                       capture_output=True, env=env, check=True)
    return json.loads(r.stdout)


# ---- fixtures ----

def round7(t):
    return [float(f"{x:.7g}") for x in t.flatten().tolist()]


def small_tokenizer(squad_dir, path):
    with tempfile.TemporaryDirectory() as tmp:
        text = os.path.join(tmp, "train.txt")
        with open(text, "w", encoding="utf-8") as f:
            f.write("\n".join(unigram_ref.train_texts(squad_dir)[:400]) + "\n")
        model = unigram_ref.train(text, os.path.join(tmp, "small"), vocab_size=180, pad_id=0, eos_id=1, unk_id=2,
                                  bos_id=-1, character_coverage=0.995, normalization_rule_name="identity")
        unigram_ref.write_json(path, unigram_ref.convert(model, "t5", 2))


def make_fixture(out, cfg, seed, question, context, tok_src, stop_at=0):
    os.makedirs(out, exist_ok=True)
    shutil.copy(tok_src, os.path.join(out, "tokenizer.json"))
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
        f.write("\n")
    prompt = cfg["qaterm_prompt"].replace("{question}", question).replace("{context}", context)
    input_ids, na_ids = hf_encode(os.path.join(out, "tokenizer.json"), [prompt, NO_ANSWER])
    for attempt in range(50):
        w = random_weights(cfg, seed + attempt)
        model = T5Ref(cfg, w)
        with torch.no_grad():
            enc = model.encode(input_ids)
            if stop_at:
                # make </s> win at step stop_at, so that the stop is tested
                ids = [cfg["decoder_start_token_id"]] + model.greedy(enc)[0][:stop_at - 1]
                top = model.decode(ids, enc)[-1].max()
                h = model.last_hidden[-1] * (cfg["d_model"] ** -0.5 if cfg["tie_word_embeddings"] else 1.0)
                head = "shared.weight" if cfg["tie_word_embeddings"] else "lm_head.weight"
                w[head][cfg["eos_token_id"]] = h / h.dot(h) * (top + 2.0)
            greedy, greedy_lp, margin = model.greedy(enc)
            # an argmax this close could flip between float orders: pick other weights
            if margin < 1e-3:
                continue
            forced = [cfg["decoder_start_token_id"]] + (greedy[:3] + na_ids)[:10]
            logits = model.decode(forced, enc)
            na_lp = model.score(na_ids, enc)
        break
    else:
        sys.exit("no seed gave clear argmax margins")
    write_safetensors(os.path.join(out, "model.safetensors"), w)
    exp = {
        "question": question, "context": context, "prompt": prompt,
        "input_ids": input_ids, "no_answer_ids": na_ids,
        "encoder_hidden": {"shape": list(enc.shape), "values": round7(enc)},
        "decoder_input_ids": forced,
        "decoder_logits": {"shape": list(logits.shape), "values": round7(logits)},
        "greedy_ids": greedy, "greedy_mean_logprob": greedy_lp, "greedy_min_margin": margin,
        "no_answer_mean_logprob": na_lp, "seed": seed + attempt,
    }
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump(exp, f, separators=(",", ":"))
        f.write("\n")
    print(f"{out}: {len(input_ids)} input ids, greedy {greedy} (margin {margin:.4f})", file=sys.stderr)


def base_config(**kw):
    cfg = {
        "architectures": ["T5ForConditionalGeneration"], "model_type": "t5",
        "d_model": 32, "d_kv": 8, "d_ff": 64, "num_heads": 4, "num_layers": 2, "num_decoder_layers": 2,
        "relative_attention_num_buckets": 32, "relative_attention_max_distance": 128,
        "dropout_rate": 0.1, "layer_norm_epsilon": 1e-6, "initializer_factor": 1.0,
        "feed_forward_proj": "relu", "is_encoder_decoder": True, "use_cache": True,
        "pad_token_id": 0, "eos_token_id": 1, "decoder_start_token_id": 0,
        "tie_word_embeddings": True, "vocab_size": 0,
        "qaterm_prompt": "question: {question} context: {context}", "qaterm_no_answer": NO_ANSWER,
    }
    cfg.update(kw)
    return cfg


def cmd_fixtures(squad_dir, out_dir):
    with tempfile.TemporaryDirectory() as tmp:
        tok = os.path.join(tmp, "tokenizer.json")
        small_tokenizer(squad_dir, tok)
        n_vocab = len(json.load(open(tok))["model"]["vocab"])
        vocab = (n_vocab + 7) // 8 * 8 + 8  # rows past the tokenizer, as T5's 32128
        q = "What did the committee decide in 1998?"
        ctx = ("In 1998 the committee decided to move the archive to the new library, where it has "
               "stayed since; the old building was sold two years later.")
        make_fixture(os.path.join(out_dir, "t5-relu"), base_config(vocab_size=vocab), 1000, q, ctx, tok)
        long_ctx = " ".join([ctx] * 3)
        make_fixture(os.path.join(out_dir, "t5-gated"),
                     base_config(vocab_size=vocab, feed_forward_proj="gated-gelu", tie_word_embeddings=False,
                                 d_kv=16, d_ff=48), 2000, q, long_ctx, tok, stop_at=6)


def cmd_bench_model(out_dir):
    tok = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures", "tok", "unigram",
                       "tokenizer.json")
    cfg = base_config(d_model=512, d_kv=64, d_ff=2048, num_heads=8, num_layers=6, num_decoder_layers=6,
                      vocab_size=8064, qaterm_name="t5-small-shaped (random)")
    os.makedirs(out_dir, exist_ok=True)
    shutil.copy(tok, os.path.join(out_dir, "tokenizer.json"))
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    write_safetensors(os.path.join(out_dir, "model.safetensors"), random_weights(cfg, 7))


def main(argv):
    if len(argv) == 3 and argv[0] == "fixtures":
        cmd_fixtures(argv[1], argv[2])
    elif len(argv) == 2 and argv[0] == "bench-model":
        cmd_bench_model(argv[1])
    else:
        sys.exit("usage: t5_ref.py fixtures SQUAD_DIR OUTDIR | bench-model OUTDIR")


if __name__ == "__main__":
    main(sys.argv[1:])
