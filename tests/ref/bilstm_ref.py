#!/usr/bin/python3
"""Independent PyTorch reference for qaterm's BiLSTM reader (dev time only).

Needs Debian's python3-torch (run it with /usr/bin/python3). Written from the
architecture description in src/models/bilstm.h and docs/bilstm.md, with
nn.LSTM / nn.Linear / nn.Conv1d / nn.Embedding and autograd; it shares no code
with the C implementation.

  bilstm_ref.py write FIXTURES_DIR
      FIXTURES_DIR/tiny and FIXTURES_DIR/plain: random-weight checkpoints
      (config.json, model.safetensors, vocab.txt) with expected.json: the
      words, ids and features of a few (question, context) pairs, the start,
      end and no-answer logits (computed in float64 from the float32
      weights), the decoded answers, and the training loss of the pairs as
      one batch with per-tensor gradient checksums.
      FIXTURES_DIR/words.json: word tokenizer cases (offsets, lower case).
  bilstm_ref.py words FILE
      prints the words of each line of FILE as JSON (for comparing the C
      tokenizer on large texts).
"""
import json
import math
import os
import struct
import sys
import unicodedata

import torch
import torch.nn as nn
import torch.nn.functional as fn

torch.set_num_threads(1)


# ---- word tokenizer: \w+|[^\w\s] with Unicode classes ----

def is_word_char(ch):
    cat = unicodedata.category(ch)
    return cat[0] in "LN" or ch == "_" or cat in ("Mn", "Mc", "Me")


def is_skipped(ch):
    return ch.isspace() or unicodedata.category(ch) in ("Cc", "Cf")


def split_words(text):
    """[(byte_start, byte_end, char_start, char_end)] of each word."""
    words = []
    byte_at = [0]
    for ch in text:
        byte_at.append(byte_at[-1] + len(ch.encode("utf-8")))
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if is_word_char(ch):
            j = i
            while j < n and is_word_char(text[j]):
                j += 1
            words.append((byte_at[i], byte_at[j], i, j))
            i = j
        elif is_skipped(ch):
            i += 1
        else:
            words.append((byte_at[i], byte_at[i + 1], i, i + 1))
            i += 1
    return words


def lower_simple(s):
    """One code point to one: the simple lowercase mapping."""
    out = []
    for ch in s:
        lo = ch.lower()
        out.append(lo[0] if lo else ch)
    return "".join(out)


# ---- features ----

def featurize(cfg, vocab, question, context):
    qw, cw = split_words(question), split_words(context)
    qw = qw[:cfg["max_question_words"]]
    cw = cw[:cfg["max_context_words"]]
    qt = [question[w[2]:w[3]] for w in qw]
    ct = [context[w[2]:w[3]] for w in cw]

    def ids(texts):
        out = []
        for t in texts:
            key = lower_simple(t) if cfg["lowercase"] else t
            out.append(vocab.get(key, 1))
        return out

    def chars(texts):
        W, CV = cfg["max_word_chars"], cfg["char_vocab_size"]
        rows = []
        for t in texts:
            r = [1 + ord(ch) % (CV - 1) for ch in t[:W]]
            rows.append(r + [0] * (W - len(r)))
        return rows

    def em(texts, other):
        exact = set(other)
        lower = set(lower_simple(t) for t in other)
        return [[float(t in exact), float(lower_simple(t) in lower)] for t in texts]

    f = {"q_words": [list(w) for w in qw], "c_words": [list(w) for w in cw],
         "q_ids": ids(qt), "c_ids": ids(ct)}
    if cfg["use_exact_match"]:
        f["q_em"] = em(qt, ct)
        f["c_em"] = em(ct, qt)
    if cfg["char_vocab_size"] > 0:
        f["q_chars"] = chars(qt)
        f["c_chars"] = chars(ct)
    return f


# ---- the model ----

class StackedBiLSTM(nn.Module):
    def __init__(self, in0, hidden, layers):
        super().__init__()
        self.layers = nn.ModuleList(
            [nn.LSTM(in0 if k == 0 else 2 * hidden, hidden, batch_first=True, bidirectional=True)
             for k in range(layers)])

    def forward(self, x):
        for layer in self.layers:
            x, _ = layer(x)
        return x


class Reader(nn.Module):
    def __init__(self, cfg):
        super().__init__()
        self.cfg = cfg
        D, H = cfg["embedding_dim"], cfg["hidden_size"]
        F = 2 if cfg["use_exact_match"] else 0
        C = cfg["char_filters"] if cfg["char_vocab_size"] > 0 else 0
        self.embeddings = nn.Embedding(cfg["vocab_size"], D, padding_idx=0)
        if C:
            self.char_embeddings = nn.Embedding(cfg["char_vocab_size"], cfg["char_embedding_dim"],
                                                padding_idx=0)
            self.char_conv = nn.Conv1d(cfg["char_embedding_dim"], C, cfg["char_kernel_size"])
        self.align = nn.Module()
        self.align.linear = nn.Linear(D, D)
        self.context_rnn = StackedBiLSTM(2 * D + C + F, H, cfg["num_layers"])
        self.question_rnn = StackedBiLSTM(D + C + F, H, cfg["num_layers"])
        self.coattn = nn.Module()
        self.coattn.linear = nn.Linear(2 * H, 2 * H)
        self.model_rnn = StackedBiLSTM(6 * H, H, cfg["num_model_layers"])
        self.q_self_attn = nn.Linear(2 * H, 1)
        self.start_attn = nn.Linear(2 * H, 2 * H)
        self.end_attn = nn.Linear(2 * H, 2 * H)
        self.no_answer = nn.Module()
        self.no_answer.pool = nn.Linear(2 * H, 1)
        self.no_answer.hidden = nn.Linear(8 * H, H)
        self.no_answer.out = nn.Linear(H, 2)

    def chars(self, ids):
        x = self.char_embeddings(torch.tensor(ids)).transpose(1, 2)  # [n, CD, W]
        return torch.relu(self.char_conv(x).max(dim=2).values)

    def forward(self, f):
        qe = self.embeddings(torch.tensor(f["q_ids"]))
        ce = self.embeddings(torch.tensor(f["c_ids"]))
        # aligned question embedding
        xc = torch.relu(self.align.linear(ce))
        xq = torch.relu(self.align.linear(qe))
        align = torch.softmax(xc @ xq.T, dim=1) @ qe
        c_parts, q_parts = [ce], [qe]
        if "c_chars" in f:
            c_parts.append(self.chars(f["c_chars"]))
            q_parts.append(self.chars(f["q_chars"]))
        c_parts.append(align)
        if "c_em" in f:
            c_parts.append(torch.tensor(f["c_em"], dtype=ce.dtype))
            q_parts.append(torch.tensor(f["q_em"], dtype=ce.dtype))
        hc = self.context_rnn(torch.cat(c_parts, dim=1)[None])[0]
        hq = self.question_rnn(torch.cat(q_parts, dim=1)[None])[0]
        # co-attention and modelling
        yc = torch.relu(self.coattn.linear(hc))
        yq = torch.relu(self.coattn.linear(hq))
        att = torch.softmax(yc @ yq.T, dim=1) @ hq
        m = self.model_rnn(torch.cat([hc, att, hc * att], dim=1)[None])[0]
        # question vector, pointers
        q = torch.softmax(self.q_self_attn(hq)[:, 0], dim=0) @ hq
        start = m @ self.start_attn(q)
        end = m @ self.end_attn(q)
        # no-answer head
        mp = torch.softmax(self.no_answer.pool(m)[:, 0], dim=0) @ m
        sv = torch.softmax(start, dim=0) @ m
        ev = torch.softmax(end, dim=0) @ m
        z = torch.cat([mp, q, sv, ev])
        null = self.no_answer.out(torch.relu(self.no_answer.hidden(z)))
        return start, end, null


def loss_of(start, end, null, s_target, e_target):
    """(CE over {null_start, starts} + CE over {null_end, ends}) / 2."""
    ls = torch.cat([null[0:1], start])
    le = torch.cat([null[1:2], end])
    ts = torch.tensor([s_target + 1])
    te = torch.tensor([e_target + 1])
    return (fn.cross_entropy(ls[None], ts) + fn.cross_entropy(le[None], te)) / 2


def decode(start, end, null, n_best, max_len, threshold):
    """decode.h's rule: n_best starts x n_best ends, score = start + end."""
    n = len(start)
    starts = sorted(range(n), key=lambda i: -start[i])[:n_best]
    ends = sorted(range(n), key=lambda i: -end[i])[:n_best]
    best = None
    for i in starts:
        for j in ends:
            if j < i or j - i + 1 > max_len:
                continue
            s = start[i] + end[j]
            if best is None or s > best[0]:
                best = (s, i, j)
    null_score = null[0] + null[1]
    return best, null_score


# ---- files ----

def write_safetensors(path, tensors):
    header, data = {}, b""
    for name in sorted(tensors):
        t = tensors[name].detach().to(torch.float32).contiguous()
        raw = struct.pack("<%df" % t.numel(), *t.flatten().tolist())
        header[name] = {"dtype": "F32", "shape": list(t.shape),
                        "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as fh:
        fh.write(struct.pack("<Q", len(text)) + text + data)


def r7(x):
    return float("%.7g" % x)


def checksum_weights(n):
    """A fixed, non-trivial vector to project gradients on."""
    return torch.tensor([math.sin(0.37 * i + 0.1) for i in range(n)], dtype=torch.float64)


TEXT = """The Normans were the people who in the 10th and 11th centuries gave their name to
Normandy , a region in France . They were descended from Norse raiders and pirates from Denmark ,
Iceland and Norway . Who gave their name to Normandy ? When were the Normans in France ?"""

EXAMPLES = [
    ("Who gave their name to Normandy?",
     "The Normans (Norman: Nourmands; French: Normands) were the people who in the 10th and "
     "11th centuries gave their name to Normandy, a region in France."),
    ("From which countries did the Norse raiders come?",
     "They were descended from Norse (\u201cNorman\u201d comes from \u201cNorseman\u201d) "
     "raiders and pirates from Denmark, Iceland and Norway \u2014 and caf\u00e9s in 1066."),
    ("What is the capital of Mars?",
     "Paris is the capital of France. \u0130stanbul is in T\u00fcrkiye."),
]


def build(out_dir, cfg, seed, threshold_between):
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(seed)
    # vocabulary: the words of TEXT (keys as the config looks them up), most first seen first
    vocab_words = ["[PAD]", "[UNK]"]
    seen = set(vocab_words)
    for w in split_words(TEXT):
        t = TEXT[w[2]:w[3]]
        key = lower_simple(t) if cfg["lowercase"] else t
        if key not in seen:
            seen.add(key)
            vocab_words.append(key)
    cfg["vocab_size"] = len(vocab_words)
    vocab = {w: i for i, w in enumerate(vocab_words)}

    model = Reader(cfg)
    with torch.no_grad():
        # larger than PyTorch's defaults, so that the logits are of order 1
        for name, p in model.named_parameters():
            p.uniform_(-0.6, 0.6)
        model.embeddings.weight.normal_(0, 1)
        model.embeddings.weight[0].zero_()
        if cfg["char_vocab_size"] > 0:
            model.char_embeddings.weight[0].zero_()
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model = model.double()

    feats = [featurize(cfg, vocab, q, c) for q, c in EXAMPLES]
    outs = [model(f) for f in feats]
    # a threshold that answers some examples and not others
    margins = []
    for (start, end, null) in outs:
        best, null_score = decode(start.tolist(), end.tolist(), null.tolist(), 20,
                                  cfg["max_answer_words"], 0.0)
        margins.append(best[0] - null_score)
    if threshold_between:
        ms = sorted(margins)
        cfg["qaterm_null_threshold"] = r7((ms[0] + ms[1]) / 2)
    threshold = cfg.get("qaterm_null_threshold", 0.0)

    examples = []
    for (q, c), f, (start, end, null) in zip(EXAMPLES, feats, outs):
        best, null_score = decode(start.tolist(), end.tolist(), null.tolist(), 20,
                                  cfg["max_answer_words"], threshold)
        s, i, j = best
        cw = f["c_words"]
        best_text = c[cw[i][2]:cw[j][3]]
        answered = s - null_score > threshold
        ex = {"question": q, "context": c}
        ex.update(f)
        ex["start"] = [r7(x) for x in start.tolist()]
        ex["end"] = [r7(x) for x in end.tolist()]
        ex["null"] = [r7(x) for x in null.tolist()]
        ex["answer"] = {"has_answer": bool(answered), "text": best_text if answered else "",
                        "best_text": best_text, "best_char_start": cw[i][2],
                        "best_char_end": cw[j][3], "margin": r7(s - null_score)}
        examples.append(ex)

    # training loss and gradients of the examples as one batch
    targets = [(len(f["c_ids"]) // 3, len(f["c_ids"]) // 3 + 2) for f in feats]
    targets[-1] = (-1, -1)
    model.zero_grad()
    loss = sum(loss_of(*o, *t) for o, t in zip(outs, targets)) / len(outs)
    loss.backward()
    grads = {}
    for name, p in model.named_parameters():
        g = p.grad.flatten()
        grads[name] = {"dot": r7(float(g @ checksum_weights(g.numel()))),
                       "norm": r7(float(g.norm()))}

    config = {"model_type": "qaterm_bilstm"}
    config.update(cfg)
    with open(os.path.join(out_dir, "config.json"), "w") as fh:
        json.dump(config, fh, indent=2)
        fh.write("\n")
    with open(os.path.join(out_dir, "vocab.txt"), "w", encoding="utf-8") as fh:
        fh.write("\n".join(vocab_words) + "\n")
    write_safetensors(os.path.join(out_dir, "model.safetensors"), state)
    expected = {"examples": examples,
                "training": {"start_targets": [t[0] for t in targets],
                             "end_targets": [t[1] for t in targets],
                             "loss": r7(float(loss)), "grads": grads}}
    with open(os.path.join(out_dir, "expected.json"), "w", encoding="utf-8") as fh:
        json.dump(expected, fh, ensure_ascii=False, separators=(",", ":"))
        fh.write("\n")


WORD_CASES = [
    "Hello, world! It's 3.14 o'clock.",
    "  tabs\tand\nnewlines\r\n  ",
    "caf\u00e9 vs cafe\u0301 (combining acute) \u00c9COLE",
    "\u0930\u093e\u092e \u0915\u093f\u0924\u093e\u092c",  # Devanagari with vowel signs
    "\u5317\u4eac\u5927\u5b66 \u6771\u4eac\u3002",  # CJK and an ideographic full stop
    "zero\u200bwidth soft\u00adhyphen \ufeffBOM non\u00a0breaking",
    "snake_case __init__ x\u00b2 \u00bd \u2167",
    "emoji \U0001F600\U0001F44D\U0001F3FD! \u2014 dash \u2013 \u201cquoted\u201d",
    "\u0130stanbul \u03a3\u039f\u03a6\u0399\u0391 \u0391\u03b8\u03ae\u03bd\u03b1",
    "\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u05e2\u05d1\u05e8\u05d9\u05ea 123,456",
    "",
    "U.S.A. e-mail #hashtag @user $5 50% a+b=c",
]


def words_cases():
    cases = []
    for t in WORD_CASES:
        ws = split_words(t)
        cases.append({"text": t, "words": [list(w) for w in ws],
                      "lower": [lower_simple(t[w[2]:w[3]]) for w in ws]})
    return cases


def main():
    if len(sys.argv) == 3 and sys.argv[1] == "write":
        out = sys.argv[2]
        tiny = {"embedding_dim": 16, "hidden_size": 16, "num_layers": 2, "num_model_layers": 1,
                "use_exact_match": True, "lowercase": True, "char_vocab_size": 40,
                "char_embedding_dim": 8, "char_filters": 8, "char_kernel_size": 3,
                "max_word_chars": 10, "max_context_words": 400, "max_question_words": 64,
                "max_answer_words": 6}
        plain = {"embedding_dim": 12, "hidden_size": 8, "num_layers": 1, "num_model_layers": 2,
                 "use_exact_match": False, "lowercase": False, "char_vocab_size": 0,
                 "max_context_words": 20, "max_question_words": 5, "max_answer_words": 4,
                 "qaterm_null_threshold": 0.0}
        build(os.path.join(out, "tiny"), tiny, 1234, True)
        build(os.path.join(out, "plain"), plain, 99, False)
        with open(os.path.join(out, "words.json"), "w", encoding="utf-8") as fh:
            json.dump(words_cases(), fh, ensure_ascii=False, separators=(",", ":"))
            fh.write("\n")
    elif len(sys.argv) == 3 and sys.argv[1] == "words":
        with open(sys.argv[2], encoding="utf-8") as fh:
            for line in fh:
                line = line.rstrip("\n")
                print(json.dumps([list(w) for w in split_words(line)]))
    else:
        sys.stderr.write(__doc__)
        sys.exit(2)


if __name__ == "__main__":
    main()
