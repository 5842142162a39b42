#!/usr/bin/python3
"""Recipe check against transformers (dev time only; needs a GPU to be quick).

Trains Hugging Face transformers' own T5ForConditionalGeneration and
BertForQuestionAnswering (+ BertForMaskedLM) with qaterm's recipes on
qaterm's own feature records, and scores qaterm's C-trained checkpoints on
the same held-out records (the last 4,000; token F1 of greedy answers for
T5, span F1 for BERT). It answers one question: does a model that fails to
learn in qaterm's trainer fail in PyTorch too (the recipe), or only in
qaterm (a bug)? Its results are in src/train/DESIGN.md.

    /usr/bin/python3 tests/ref/recipe_check.py export FEATURES.bin t5|bert OUT.npz

turns a feature cache of `qaterm train` (DIR/features-*.bin) into a
compressed npz. Then, in a folder holding t5feat.npz, bertfeat.npz,
t5_config.json, bert_config.json (the models' config.json) and, for the
checkpoint rows, c_t5/ and c_bert/ (qaterm checkpoints):

    OUT=DIR python3 recipe_check.py run SECONDS EXP[,EXP...]

with EXP among t5_c_ckpt bert_c_ckpt t5_qa t5_qa_half t5_copy t5_copy1
t5_lr3e-4 t5_lr3e-3 t5_nodrop t5_qa3 bert_qa bert_mlm3k bert_mlm10k_e2
bert_e3 (run in turn; on one GPU, several such processes can run at
once). Needs torch, numpy and transformers (5.17 was used).
"""
import json, os, sys, time, traceback
import numpy as np
import torch

OUT = os.environ.get('OUT', '/tmp/out')
HERE = os.getcwd()
T0 = time.time()
RUN = len(sys.argv) > 3 and sys.argv[1] == 'run'
BUDGET = float(sys.argv[2]) if RUN else 0
EXPS = sys.argv[3].split(',') if RUN else []
dev = 'cuda' if torch.cuda.is_available() else 'cpu'
torch.backends.cuda.matmul.allow_tf32 = True
torch.backends.cudnn.allow_tf32 = True
TAG = '-'.join(EXPS)
LOG = open(os.path.join(OUT, 'log-%s.txt' % TAG), 'a') if RUN else None
RESULTS = {}


def P(*a):
    s = '[%5.0fs] ' % (time.time() - T0) + ' '.join(str(x) for x in a)
    print(s, flush=True)
    LOG.write(s + '\n')
    LOG.flush()


def left():
    return BUDGET - (time.time() - T0)


def save():
    json.dump(RESULTS, open(os.path.join(OUT, 'results-%s.json' % TAG), 'w'), indent=1)


def load(name):
    d = np.load(os.path.join(HERE, name))
    return d['heads'], d['kinds'], d['starts'], d['tok'].astype(np.int64)


def split(kinds, n_hold=4000):
    n = len(kinds)
    train = np.arange(n - n_hold)
    hold = np.arange(n - n_hold, n)
    return train, hold


def schedule(opt, step, total, lr, warm):
    f = step / warm if step < warm else max(0.0, (total - step) / max(1, total - warm))
    for g in opt.param_groups:
        g['lr'] = lr * f


def make_opt(model, lr, wd):
    decay, no = [], []
    for n, p in model.named_parameters():
        (no if (p.ndim < 2 or 'norm' in n.lower() or 'relative_attention_bias' in n) else decay).append(p)
    return torch.optim.AdamW([{'params': decay, 'weight_decay': wd}, {'params': no, 'weight_decay': 0.0}],
                             lr=lr, betas=(0.9, 0.999), eps=1e-8)


def tok_f1(pred, gold):
    if len(pred) == 0 or len(gold) == 0:
        return float(pred == gold)
    from collections import Counter
    c = Counter(pred) & Counter(gold)
    s = sum(c.values())
    if s == 0:
        return 0.0
    p, r = s / len(pred), s / len(gold)
    return 2 * p * r / (p + r)


def auroc(pos, neg):  # P(score_pos > score_neg), pos = unanswerable's no-answer score
    pos, neg = np.asarray(pos), np.asarray(neg)
    allv = np.concatenate([pos, neg])
    order = allv.argsort(kind='mergesort')
    ranks = np.empty(len(allv))
    ranks[order] = np.arange(1, len(allv) + 1)
    # average ties
    vals = allv[order]
    i = 0
    while i < len(vals):
        j = i
        while j + 1 < len(vals) and vals[j + 1] == vals[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j + 2) / 2
        i = j + 1
    rp = ranks[:len(pos)].sum()
    return (rp - len(pos) * (len(pos) + 1) / 2) / (len(pos) * len(neg))


# ---------------- T5 ----------------

def t5_model(cfg_path=None, ckpt=None, dropout=None):
    from transformers import T5Config, T5ForConditionalGeneration
    if ckpt:
        m = T5ForConditionalGeneration.from_pretrained(ckpt, torch_dtype=torch.float32)
    else:
        cfg = json.load(open(cfg_path))
        cfg = {k: v for k, v in cfg.items() if not k.startswith('qaterm_')}
        if dropout is not None:
            cfg['dropout_rate'] = dropout
        torch.manual_seed(20261126)
        m = T5ForConditionalGeneration(T5Config(**cfg))
    return m.to(dev)


def t5_batch(D, idx, copy_rng=None, cue=3):
    heads, kinds, starts, tok = D
    encs, tgts = [], []
    for i in idx:
        h = heads[i]
        s = starts[i]
        ne, nt = int(h[0]), int(h[1])
        e = tok[s:s + ne]
        t = tok[s + ne:s + ne + nt]
        if copy_rng is not None:
            qs, ql, cs, cl = int(h[3]), int(h[4]), int(h[5]), int(h[6])
            room = cl - cue
            if room < 2:
                continue
            ln = 1 + copy_rng.integers(4)
            ln = min(ln, room)
            at = cs + cue + copy_rng.integers(room - ln + 1)
            t = np.concatenate([e[at:at + ln], [1]])
            e = np.concatenate([e[:qs], e[at - cue:at], e[qs + ql:]])
        encs.append(e)
        tgts.append(t)
    B = len(encs)
    Te = max(len(x) for x in encs)
    Td = max(len(x) for x in tgts)
    enc = np.zeros((B, Te), np.int64)
    am = np.zeros((B, Te), np.int64)
    lab = np.full((B, Td), -100, np.int64)
    for b in range(B):
        enc[b, :len(encs[b])] = encs[b]
        am[b, :len(encs[b])] = 1
        lab[b, :len(tgts[b])] = tgts[b]
    return (torch.from_numpy(enc).to(dev), torch.from_numpy(am).to(dev), torch.from_numpy(lab).to(dev), tgts)


@torch.no_grad()
def t5_eval(model, D, hold, n=1000, copy=False, tag=''):
    model.eval()
    kinds = D[1]
    ans = [i for i in hold if kinds[i] == 0][:n]
    neg = [i for i in hold if kinds[i] != 0][:n // 2]
    rng = np.random.default_rng(7) if copy else None
    f1s, ems = [], []
    na_ids = None
    for k in range(0, len(ans), 100):
        enc, am, lab, tgts = t5_batch(D, ans[k:k + 100], rng)
        out = model.generate(input_ids=enc, attention_mask=am, max_new_tokens=32, num_beams=1, do_sample=False)
        for b in range(out.shape[0]):
            p = [int(x) for x in out[b, 1:].tolist()]
            if 1 in p:
                p = p[:p.index(1)]
            p = [x for x in p if x != 0]
            g = [int(x) for x in tgts[b][:-1]]
            f1s.append(tok_f1(p, g))
            ems.append(float(p == g))
    res = {'f1': 100 * np.mean(f1s), 'em': 100 * np.mean(ems)}
    if not copy and neg:
        nacc = []
        for k in range(0, len(neg), 100):
            enc, am, lab, tgts = t5_batch(D, neg[k:k + 100])
            out = model.generate(input_ids=enc, attention_mask=am, max_new_tokens=8, num_beams=1, do_sample=False)
            for b in range(out.shape[0]):
                p = [int(x) for x in out[b, 1:].tolist()]
                g = [int(x) for x in tgts[b]]
                nacc.append(float(p[:len(g)] == g))
                na_ids = g
        res['neg_says_na'] = 100 * np.mean(nacc)
        # how often answerable questions get the no-answer string
        cnt = 0
        for k in range(0, len(ans), 100):
            enc, am, lab, tgts = t5_batch(D, ans[k:k + 100])
            out = model.generate(input_ids=enc, attention_mask=am, max_new_tokens=8, num_beams=1, do_sample=False)
            for b in range(out.shape[0]):
                p = [int(x) for x in out[b, 1:].tolist()]
                cnt += p[:len(na_ids)] == na_ids
        res['ans_says_na'] = 100 * cnt / len(ans)
    model.train()
    P(tag, 'eval', json.dumps({k: round(v, 2) for k, v in res.items()}))
    return res


def train_loop(name, model, phase, batches, total, lr, warm, loss_of, every, evaluate=None, eval_every=0):
    """AdamW (weight decay 0.01 but norms and biases), warm-up and linear
    decay, clipping 1.0, over `total` batches of index arrays; logs the mean
    loss every `every` steps. False when the time ran out."""
    R = RESULTS[name]
    opt = make_opt(model, lr, 0.01)
    acc = 0.0
    for step, idx in enumerate(batches, 1):
        if step > total:
            break
        schedule(opt, step, total, lr, warm)
        loss = loss_of(idx)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        acc += loss.item()
        if step % every == 0:
            R['loss'].append([phase, step, acc / every])
            P(name, phase, step, '/', total, round(acc / every, 4))
            acc = 0.0
        if evaluate and (step % eval_every == 0 or step == total):
            R['eval'].append([phase, step, evaluate()])
            save()
        if left() < 30:
            P(name, 'out of time at', step)
            return False
    return True


def epoch_batches(rng, train, epochs, B=32):
    for _ in range(epochs):
        perm = rng.permutation(train)
        for k in range(0, len(perm) - B + 1, B):
            yield perm[k:k + B]


def random_batches(rng, train, B=32):
    while True:
        yield rng.choice(train, B, replace=False)


def t5_train(name, D, train, hold, epochs=1, lr=1e-3, warm=500, copy_steps=0, copy_lr=1e-3, max_steps=0,
             eval_every=1000, init=None, cue=3):
    torch.manual_seed(20261126)
    model = t5_model(os.path.join(HERE, 't5_config.json')) if init is None else init
    model.train()
    rng = np.random.default_rng(20261126)
    RESULTS[name] = {'loss': [], 'eval': []}

    def t5_loss(idx, copy_rng=None):
        enc, am, lab, _ = t5_batch(D, idx, copy_rng, cue)
        return model(input_ids=enc, attention_mask=am, labels=lab).loss

    if copy_steps and not train_loop(name, model, 'copy', random_batches(rng, train), copy_steps, copy_lr,
                                     min(300, copy_steps // 10), lambda idx: t5_loss(idx, rng), 250,
                                     lambda: t5_eval(model, D, hold, 300, copy=True, tag=name + ' copy'), 1000):
        return model
    total = epochs * (len(train) // 32) if not max_steps else max_steps
    if train_loop(name, model, 'qa', epoch_batches(rng, train, epochs), total, lr, warm, t5_loss, 250,
                  lambda: t5_eval(model, D, hold, tag=name), eval_every):
        RESULTS[name]['eval'].append(['qa', total, t5_eval(model, D, hold, tag=name + ' final')])
        save()
    return model


# ---------------- BERT ----------------

def bert_batch(D, idx):
    heads, kinds, starts, tok = D
    B = len(idx)
    T = int(max(heads[i][0] for i in idx))
    ids = np.zeros((B, T), np.int64)
    tt = np.zeros((B, T), np.int64)
    am = np.zeros((B, T), np.int64)
    st = np.zeros(B, np.int64)
    en = np.zeros(B, np.int64)
    for b, i in enumerate(idx):
        h = heads[i]
        L, nq = int(h[0]), int(h[1])
        ids[b, :L] = tok[starts[i]:starts[i] + L]
        am[b, :L] = 1
        tt[b, nq + 2:L] = 1
        st[b] = max(0, int(h[2]))
        en[b] = max(0, int(h[3]))
    t = lambda a: torch.from_numpy(a).to(dev)
    return t(ids), t(tt), t(am), t(st), t(en)


def mask_tokens(ids, am, rng_t, vocab, mask_id=4, first_normal=5):
    special = ids < first_normal
    prob = torch.rand(ids.shape, device=dev, generator=rng_t)
    sel = (prob < 0.15) & ~special & (am > 0)
    labels = torch.where(sel, ids, torch.full_like(ids, -100))
    r = torch.rand(ids.shape, device=dev, generator=rng_t)
    inp = ids.clone()
    inp[sel & (r < 0.8)] = mask_id
    rnd = sel & (r >= 0.8) & (r < 0.9)
    inp[rnd] = torch.randint(first_normal, vocab, ids.shape, device=dev, generator=rng_t)[rnd]
    return inp, labels


@torch.no_grad()
def bert_eval(model, D, hold, n=2000, tag=''):
    model.eval()
    heads, kinds = D[0], D[1]
    idx = list(hold[:n])
    f1s, ems, na_a, na_n = [], [], [], []
    for k in range(0, len(idx), 200):
        part = idx[k:k + 200]
        ids, tt, am, st, en = bert_batch(D, part)
        o = model(input_ids=ids, token_type_ids=tt, attention_mask=am)
        s, e = o.start_logits.float(), o.end_logits.float()
        for b, i in enumerate(part):
            h = heads[i]
            L, nq = int(h[0]), int(h[1])
            c0, c1 = nq + 2, L - 1  # context positions [c0, c1)
            ss, ee = s[b, c0:c1], e[b, c0:c1]
            sc = ss[:, None] + ee[None, :]
            n_c = c1 - c0
            m = torch.triu(torch.ones(n_c, n_c, device=dev, dtype=torch.bool)) & ~torch.triu(
                torch.ones(n_c, n_c, device=dev, dtype=torch.bool), diagonal=30)
            sc = sc.masked_fill(~m, -1e9)
            best = int(sc.argmax())
            ps, pe = best // n_c + c0, best % n_c + c0
            margin = float(s[b, 0] + e[b, 0] - sc.max())
            if kinds[i] == 0:
                gs, ge = int(h[2]), int(h[3])
                inter = max(0, min(pe, ge) - max(ps, gs) + 1)
                if inter == 0:
                    f1s.append(0.0)
                else:
                    p, r = inter / (pe - ps + 1), inter / (ge - gs + 1)
                    f1s.append(2 * p * r / (p + r))
                ems.append(float(ps == gs and pe == ge))
                na_a.append(margin)
            else:
                na_n.append(margin)
    res = {'forced_f1': 100 * np.mean(f1s), 'forced_em': 100 * np.mean(ems), 'auroc': auroc(na_n, na_a)}
    model.train()
    P(tag, 'eval', json.dumps({k: round(v, 3) for k, v in res.items()}))
    return res


def bert_train(name, D, train, hold, epochs=1, lr=5e-4, warm=400, mlm_steps=0, mlm_lr=1e-3, mlm_warm=300,
               eval_every=1000):
    from transformers import BertConfig, BertForQuestionAnswering, BertForMaskedLM
    torch.manual_seed(20261126)
    cfg = json.load(open(os.path.join(HERE, 'bert_config.json')))
    cfg = {k: v for k, v in cfg.items() if not k.startswith('qaterm_')}
    bc = BertConfig(**cfg)
    rng = np.random.default_rng(20261126)
    g = torch.Generator(device=dev)
    g.manual_seed(1)
    RESULTS[name] = {'loss': [], 'eval': []}
    qa = BertForQuestionAnswering(bc).to(dev)
    if mlm_steps:
        mlm = BertForMaskedLM(bc).to(dev)
        mlm.bert.load_state_dict(qa.bert.state_dict(), strict=False)
        mlm.train()

        def mlm_loss(idx):
            ids, tt, am, _, _ = bert_batch(D, idx)
            inp, lab = mask_tokens(ids, am, g, bc.vocab_size)
            return mlm(input_ids=inp, token_type_ids=tt, attention_mask=am, labels=lab).loss

        if not train_loop(name, mlm, 'mlm', random_batches(rng, train), mlm_steps, mlm_lr, mlm_warm, mlm_loss, 1000):
            return
        qa.bert.load_state_dict(mlm.bert.state_dict(), strict=False)
        del mlm
    qa.train()

    def qa_loss(idx):
        ids, tt, am, st, en = bert_batch(D, idx)
        return qa(input_ids=ids, token_type_ids=tt, attention_mask=am, start_positions=st, end_positions=en).loss

    train_loop(name, qa, 'qa', epoch_batches(rng, train, epochs), epochs * (len(train) // 32), lr, warm, qa_loss, 500,
               lambda: bert_eval(qa, D, hold, tag=name), eval_every)


def export(path, arch, out):
    """A feature cache (QTFEAT01: header, offsets, lengths, kinds, records) as npz."""
    import struct
    raw = open(path, 'rb').read()
    if raw[:8] != b'QTFEAT01':
        sys.exit('%s: not a qaterm feature cache' % path)
    n, size = struct.unpack_from('<QQ', raw, 8 + 64)
    off = 8 + 64 + 16 + 8
    offsets = np.frombuffer(raw, '<u8', n, off)
    off += 8 * n + 4 * n  # the lengths are not needed
    kinds = np.frombuffer(raw, '<i4', n, off)
    off += 4 * n
    data = raw[off:off + size]
    nh = 8 if arch == 't5' else 5  # arch_t5.c / arch_bert.c rec_head
    heads = np.zeros((n, nh), np.int32)
    toks, starts = [], np.zeros(n + 1, np.int64)
    for i in range(n):
        h = np.frombuffer(data, '<i4', nh, int(offsets[i]))
        heads[i] = h
        cnt = int(h[0] + h[1]) if arch == 't5' else int(h[0])
        toks.append(np.frombuffer(data, '<i4', cnt, int(offsets[i]) + 4 * nh).astype(np.uint16))
        starts[i + 1] = starts[i] + cnt
    np.savez_compressed(out, heads=heads, kinds=kinds, starts=starts, tok=np.concatenate(toks))
    print('%d records written to %s' % (n, out))


def main():
    P('device', dev, torch.cuda.get_device_name(0) if dev == 'cuda' else '', 'exps', EXPS)
    Dt = Db = None
    for ex in EXPS:
        if left() < 45:
            P('skip', ex, 'no time')
            continue
        try:
            if ex.startswith('t5') and Dt is None:
                Dt = load('t5feat.npz')
                tr_t, ho_t = split(Dt[1])
            if ex.startswith('bert') and Db is None:
                Db = load('bertfeat.npz')
                tr_b, ho_b = split(Db[1])
            if ex == 't5_c_ckpt':  # qaterm's C-trained T5 (step 2194 of 4164) on the held-out records
                m = t5_model(ckpt=os.path.join(HERE, 'c_t5'))
                RESULTS[ex] = t5_eval(m, Dt, ho_t, tag=ex)
            elif ex == 'bert_c_ckpt':
                from transformers import BertForQuestionAnswering
                m = BertForQuestionAnswering.from_pretrained(os.path.join(HERE, 'c_bert'), torch_dtype=torch.float32).to(dev)
                RESULTS[ex] = bert_eval(m, Db, ho_b, tag=ex)
            elif ex == 't5_qa':
                t5_train(ex, Dt, tr_t, ho_t)
            elif ex == 't5_qa_half':  # the C run's length, for a like-for-like comparison
                t5_train(ex, Dt, tr_t, ho_t, max_steps=2194)
            elif ex == 't5_copy':
                t5_train(ex, Dt, tr_t, ho_t, copy_steps=3000, max_steps=1000)
            elif ex == 't5_copy1':
                t5_train(ex, Dt, tr_t, ho_t, copy_steps=2500, max_steps=500, cue=1)
            elif ex == 't5_lr3e-4':
                t5_train(ex, Dt, tr_t, ho_t, max_steps=2194, lr=3e-4)
            elif ex == 't5_lr3e-3':
                t5_train(ex, Dt, tr_t, ho_t, max_steps=2194, lr=3e-3)
            elif ex == 't5_nodrop':
                t5_train(ex, Dt, tr_t, ho_t, max_steps=2194, init=t5_model(os.path.join(HERE, 't5_config.json'), dropout=0.0))
            elif ex == 't5_qa3':
                t5_train(ex, Dt, tr_t, ho_t, epochs=3, eval_every=2000)
            elif ex == 'bert_qa':
                bert_train(ex, Db, tr_b, ho_b)
            elif ex == 'bert_mlm3k':
                bert_train(ex, Db, tr_b, ho_b, mlm_steps=3000)
            elif ex == 'bert_mlm10k_e2':
                bert_train(ex, Db, tr_b, ho_b, mlm_steps=10000, epochs=2, eval_every=2000)
            elif ex == 'bert_e3':
                bert_train(ex, Db, tr_b, ho_b, epochs=3, eval_every=2000)
            else:
                P('unknown', ex)
        except Exception:
            P('FAILED', ex, traceback.format_exc())
        save()
    P('done')


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == 'export':
        export(*sys.argv[2:5])
    elif RUN:
        main()
    else:
        sys.exit(__doc__)
