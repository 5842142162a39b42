#!/usr/bin/env python3
"""What Hugging Face transformers answers with qaterm's shipped models.

Development time only (needs torch + transformers; run on a machine that has
them, e.g. the GPU machine, on CPU in float32). For every question of the
bundled demo set whose passage fits one window, it runs the shipped BERT,
T5 and Mamba directories through transformers' own classes and tokenizers
(PreTrainedTokenizerFast on the shipped tokenizer.json) and writes what
`qaterm ask --json --always-answer` must give:

  bert, mamba: best_text (the best span, HF's n-best recipe: 20 best starts x
               20 best ends over context tokens, end >= start, at most 30
               tokens) and margin = best span score - null score
               (BERT: position 0; Mamba: the trailing separator)
  t5:          the greedily generated text and its mean token log-prob
               (the closing </s> included)

  python3 tests/ref/hf_shipped_ref.py [--backend transformers|ref] [--only FAM,...] \
      assets/models assets/demo/demo.json tests/fixtures/hf/shipped.json

--only mamba (say) answers again with those models only, keeping the
others' answers and references in the fixture (for when only their weights
changed); the fixture names each model's reference.

--backend ref (the default where transformers is not installed) gives the
same answers from qaterm's PyTorch references and HF's Rust tokenizers via
npm (tests/ref/shipped_torch_ref.py), for machines without transformers; the
fixture says which reference made it.
"""
import json
import os
import sys

import torch

try:
    import transformers
    from transformers import (BertForQuestionAnswering, MambaModel, PreTrainedTokenizerFast,
                              T5ForConditionalGeneration)
except ImportError:
    transformers = None

torch.set_grad_enabled(False)
MAX_Q, N_BEST, MAX_ANS = 64, 20, 30


_cache = {}


def cached(key, make):
    if key not in _cache:
        _cache[key] = make()
    return _cache[key]


def tok(d):
    return cached(("tok", d), lambda: PreTrainedTokenizerFast(tokenizer_file=f"{d}/tokenizer.json"))


def enc(t, text):
    e = t(text, add_special_tokens=False, return_offsets_mapping=True)
    return e["input_ids"], e["offset_mapping"]


def best_span(start, end, c0, c1, offsets, context):
    """HF run_qa scoring over context positions [c0, c1)."""
    idx = list(range(c0, c1))
    s_best = sorted(idx, key=lambda i: -start[i])[:N_BEST]
    e_best = sorted(idx, key=lambda i: -end[i])[:N_BEST]
    best = None
    for i in s_best:
        for j in e_best:
            if j < i or j - i + 1 > MAX_ANS:
                continue
            sc = start[i] + end[j]
            if best is None or sc > best[0]:
                best = (sc, i, j)
    sc, i, j = best
    a, b = offsets[i - c0][0], offsets[j - c0][1]
    return sc, context[a:b]


def bert(d, q, c, cfg):
    t = tok(d)
    m = cached(d, lambda: BertForQuestionAnswering.from_pretrained(d).float().eval())
    qi, _ = enc(t, q)
    ci, co = enc(t, c)
    qi = qi[:MAX_Q]
    cls, sep = t.convert_tokens_to_ids("[CLS]"), t.convert_tokens_to_ids("[SEP]")
    ids = [cls] + qi + [sep] + ci + [sep]
    if len(ids) > min(384, cfg["max_position_embeddings"]):
        return None
    types = [0] * (len(qi) + 2) + [1] * (len(ci) + 1)
    out = m(input_ids=torch.tensor([ids]), token_type_ids=torch.tensor([types]))
    s, e = out.start_logits[0].tolist(), out.end_logits[0].tolist()
    c0 = len(qi) + 2
    sc, text = best_span(s, e, c0, c0 + len(ci), co, c)
    return {"best_text": text, "margin": sc - (s[0] + e[0])}


def mamba(d, q, c, cfg):
    t = tok(d)
    m = cached(d, lambda: MambaModel.from_pretrained(d).float().eval())
    from safetensors.torch import load_file
    w = cached(("st", d), lambda: load_file(f"{d}/model.safetensors"))
    qa_w, qa_b = w["qa_outputs.weight"].float(), w["qa_outputs.bias"].float()
    sep = cfg.get("qaterm_sep_token_id", cfg["eos_token_id"])
    qi, _ = enc(t, q)
    ci, co = enc(t, c)
    qi = qi[:MAX_Q]
    ids = qi + [sep] + ci + [sep]
    h = m(input_ids=torch.tensor([ids])).last_hidden_state[0].float()
    logits = h @ qa_w.T + qa_b
    s, e = logits[:, 0].tolist(), logits[:, 1].tolist()
    c0 = len(qi) + 1
    sc, text = best_span(s, e, c0, c0 + len(ci), co, c)
    return {"best_text": text, "margin": sc - (s[-1] + e[-1])}


def t5(d, q, c, cfg):
    t = tok(d)
    m = cached(d, lambda: T5ForConditionalGeneration.from_pretrained(d).float().eval())
    prompt = cfg.get("qaterm_prompt", "question: {question} context: {context}")
    ids, _ = enc(t, prompt.replace("{question}", q).replace("{context}", c))
    ids = ids + [cfg["eos_token_id"]]
    if len(ids) > cfg.get("qaterm_max_input_tokens", 512):
        return None
    out = m.generate(torch.tensor([ids]), max_new_tokens=cfg.get("qaterm_max_new_tokens", 32), do_sample=False,
                     num_beams=1, output_scores=True, return_dict_in_generate=True)
    gen = out.sequences[0, 1:].tolist()
    lps = [torch.log_softmax(sc[0].float(), -1)[g].item() for sc, g in zip(out.scores, gen)]
    if cfg["eos_token_id"] in gen:
        n = gen.index(cfg["eos_token_id"]) + 1
        gen, lps = gen[:n], lps[:n]
    return {"text": t.decode(gen, skip_special_tokens=True).strip(), "mean_logprob": sum(lps) / len(lps)}


FAMILIES = ("bert", "t5", "mamba")


def main():
    args = sys.argv[1:]
    backend = "transformers" if transformers else "ref"
    only = None
    while args[:1] in (["--backend"], ["--only"]):
        if args[0] == "--backend":
            backend = args[1]
        else:
            only = args[1].split(",")
        args = args[2:]
    models, demo, out_path = args[:3]
    if backend == "transformers":
        fams = {"bert": bert, "t5": t5, "mamba": mamba}
        ref = f"transformers {transformers.__version__}"
    elif backend == "ref":
        sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
        import shipped_torch_ref as r
        fams = {f: (lambda fn: lambda d, q, c, cfg: fn(d, q, c, cfg, best_span, MAX_Q))(getattr(r, f))
                for f in FAMILIES}
        ref = "qaterm's PyTorch references (tests/ref/shipped_torch_ref.py) + npm tokenizers"
    else:
        sys.exit(f"unknown backend {backend} (transformers or ref)")
    if only and not set(only) <= set(FAMILIES):
        sys.exit(f"--only {','.join(only)}: expected some of {','.join(FAMILIES)}")
    cfgs = {f: json.load(open(f"{models}/{f}/config.json")) for f in fams}
    if only:
        # the other models' answers and references stay as the fixture has them
        result = json.load(open(out_path, encoding="utf-8"))
        for row in result["questions"]:
            for f in only:
                r = fams[f](f"{models}/{f}", row["question"], row["context"], cfgs[f])
                if r is None:
                    sys.exit(f"{row['id']}: no longer fits one window of {f}: regenerate the whole fixture")
                row[f] = r
        for f in only:
            result["references"][f] = ref
            result["torch"][f] = torch.__version__
    else:
        data = json.load(open(demo, encoding="utf-8"))
        result = {"references": {f: ref for f in FAMILIES}, "torch": {f: torch.__version__ for f in FAMILIES},
                  "questions": []}
        for a in data["data"]:
            for p in a["paragraphs"]:
                for qa in p["qas"]:
                    row = {"id": qa["id"], "question": qa["question"], "context": p["context"]}
                    for f, fn in fams.items():
                        r = fn(f"{models}/{f}", qa["question"], p["context"], cfgs[f])
                        if r is None:
                            break
                        row[f] = r
                    else:
                        result["questions"].append(row)
    json.dump(result, open(out_path, "w", encoding="utf-8"), ensure_ascii=False, indent=1)
    print(f"{len(result['questions'])} questions written to {out_path}")


if __name__ == "__main__":
    main()
