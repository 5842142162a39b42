"""hf_shipped_ref.py's answers without transformers (its --backend ref).

Where transformers cannot be installed (this project's development machines:
Debian's torch 1.13, no network), the shipped BERT, T5 and Mamba directories
are run through qaterm's own PyTorch references, each written from
transformers' modeling code and checked against it on tiny checkpoints:
bert_ref.QAModel (BertForQuestionAnswering), t5_ref.T5Ref
(T5ForConditionalGeneration, greedy decoding) and mamba_ref.Mamba (MambaModel,
float64 recurrence), and tokenized by Hugging Face's own Rust tokenizers
through the npm `tokenizers` package, the library PreTrainedTokenizerFast
wraps. Everything else (windows, n-best span search, margins, the mean
log-probability) is hf_shipped_ref.py's. Nothing is imported from qaterm.
"""
import json
import os
import struct
import subprocess
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import bert_ref  # noqa: E402
import mamba_ref  # noqa: E402
import t5_ref  # noqa: E402

# One node process serves every request: {"file", "op": "encode"|"decode"|"id", ...}
TOKENIZER_JS = r"""
const tk = require('tokenizers');
const rl = require('readline').createInterface({ input: process.stdin });
const cache = {};
const queue = [];
let busy = false;
async function serve(r) {
  const t = cache[r.file] || (cache[r.file] = tk.Tokenizer.fromFile(r.file));
  if (r.op === 'encode') {
    const e = await t.encode(r.text, null, { addSpecialTokens: false });
    return { ids: e.getIds(), offsets: e.getOffsets() };
  }
  if (r.op === 'decode') return { text: await t.decode(r.ids, true) };
  return { id: t.tokenToId(r.token) };
}
async function drain() {
  if (busy) return;
  busy = true;
  while (queue.length) process.stdout.write(JSON.stringify(await serve(queue.shift())) + '\n');
  busy = false;
}
rl.on('line', (l) => { queue.push(JSON.parse(l)); drain(); });
"""

_node = None
_models = {}
SIZES = {"F32": 4, "F16": 2, "BF16": 2}


def _tok(req):
    global _node
    if _node is None:
        env = dict(os.environ)
        env.setdefault("NODE_PATH", "/work/npm-ref/node_modules")
        _node = subprocess.Popen(["node", "-e", TOKENIZER_JS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                 env=env, text=True, encoding="utf-8")
    _node.stdin.write(json.dumps(req) + "\n")
    _node.stdin.flush()
    return json.loads(_node.stdout.readline())


def enc(d, text):
    r = _tok({"file": f"{d}/tokenizer.json", "op": "encode", "text": text})
    return r["ids"], [tuple(o) for o in r["offsets"]]


def token_id(d, token):
    return _tok({"file": f"{d}/tokenizer.json", "op": "id", "token": token})["id"]


def decode(d, ids):
    return _tok({"file": f"{d}/tokenizer.json", "op": "decode", "ids": ids})["text"]


def load_safetensors(path):
    """{name: float32 tensor} from an F32/F16/BF16 safetensors file."""
    blob = open(path, "rb").read()
    (n,) = struct.unpack("<Q", blob[:8])
    header = json.loads(blob[8:8 + n])
    header.pop("__metadata__", None)
    data, out = blob[8 + n:], {}
    for name, info in header.items():
        b, e = info["data_offsets"]
        raw = data[b:e]
        if info["dtype"] == "F32":
            a = np.frombuffer(raw, dtype="<f4")
        elif info["dtype"] == "F16":
            a = np.frombuffer(raw, dtype="<f2").astype(np.float32)
        elif info["dtype"] == "BF16":
            a = (np.frombuffer(raw, dtype="<u2").astype(np.uint32) << 16).view(np.float32)
        else:
            raise ValueError(f"{path}: {name}: dtype {info['dtype']}")
        out[name] = torch.from_numpy(a.copy()).reshape(info["shape"])
    return out


def _model(key, make):
    if key not in _models:
        _models[key] = make()
    return _models[key]


def _bert_model(d, cfg):
    m = bert_ref.QAModel(cfg)
    w = load_safetensors(f"{d}/model.safetensors")
    missing, unexpected = m.load_state_dict(w, strict=False)
    if missing or any(not k.endswith("position_ids") and "pooler" not in k for k in unexpected):
        raise ValueError(f"{d}: weights do not match BERT: missing {missing}, unexpected {unexpected}")
    return m.float().eval()


def bert(d, q, c, cfg, best_span, max_q):
    m = _model(d, lambda: _bert_model(d, cfg))
    qi, _ = enc(d, q)
    ci, co = enc(d, c)
    qi = qi[:max_q]
    ids = [token_id(d, "[CLS]")] + qi + [token_id(d, "[SEP]")] + ci + [token_id(d, "[SEP]")]
    if len(ids) > min(384, cfg["max_position_embeddings"]):
        return None
    types = [0] * (len(qi) + 2) + [1] * (len(ci) + 1)
    with torch.no_grad():
        s, e = m(torch.tensor([ids]), token_type_ids=torch.tensor([types]))
    s, e = s[0].tolist(), e[0].tolist()
    c0 = len(qi) + 2
    sc, text = best_span(s, e, c0, c0 + len(ci), co, c)
    return {"best_text": text, "margin": sc - (s[0] + e[0])}


def _mamba_model(d, cfg):
    m = mamba_ref.Mamba(cfg, torch.Generator().manual_seed(0), span=True)
    w = load_safetensors(f"{d}/model.safetensors")
    if set(w) != set(m.w):
        raise ValueError(f"{d}: weights do not match Mamba: {sorted(set(w) ^ set(m.w))}")
    m.set_weights(w)
    return m


def mamba(d, q, c, cfg, best_span, max_q):
    m = _model(d, lambda: _mamba_model(d, cfg))
    sep = cfg.get("qaterm_sep_token_id", cfg["eos_token_id"])
    qi, _ = enc(d, q)
    ci, co = enc(d, c)
    qi = qi[:max_q]
    ids = qi + [sep] + ci + [sep]
    with torch.no_grad():
        s, e = m.span_logits(m.hidden(ids))
    s, e = s.tolist(), e.tolist()
    c0 = len(qi) + 1
    sc, text = best_span(s, e, c0, c0 + len(ci), co, c)
    return {"best_text": text, "margin": sc - (s[-1] + e[-1])}


def _t5_model(d, cfg):
    cfg = dict(cfg)
    cfg.setdefault("feed_forward_proj", "relu")
    cfg.setdefault("tie_word_embeddings", True)
    cfg.setdefault("num_decoder_layers", cfg["num_layers"])
    return t5_ref.T5Ref(cfg, load_safetensors(f"{d}/model.safetensors"))


def t5(d, q, c, cfg, best_span, max_q):
    m = _model(d, lambda: _t5_model(d, cfg))
    prompt = cfg.get("qaterm_prompt", "question: {question} context: {context}")
    ids, _ = enc(d, prompt.replace("{question}", q).replace("{context}", c))
    ids = ids + [cfg["eos_token_id"]]
    if len(ids) > cfg.get("qaterm_max_input_tokens", 512):
        return None
    if cfg.get("qaterm_max_new_tokens", 32) != t5_ref.MAX_NEW_TOKENS:
        raise ValueError("t5_ref generates at most %d tokens" % t5_ref.MAX_NEW_TOKENS)
    with torch.no_grad():
        gen, mean_lp, _ = m.greedy(m.encode(ids))
    return {"text": decode(d, gen).strip(), "mean_logprob": mean_lp}
