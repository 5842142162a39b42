#!/usr/bin/env node
// Reference for qaterm's Unigram (SentencePiece) tokenizer (dev time only):
// Hugging Face's `tokenizers` npm package says what every text must encode
// and decode to with the tokenizers tests/ref/unigram_ref.py built. CI never
// runs this; it checks the committed outputs.
//
//   npm install --prefix /work/npm-ref tokenizers
//   NODE_PATH=/work/npm-ref/node_modules node tests/ref/unigram_ref.js expect SQUAD_DIR tests/fixtures/tok
//
// writes, under OUTDIR:
//   unigram.dev.gz      for every context and question of SQUAD_DIR/dev-v2.0-a.json
//                       (each context, then its questions, in file order) one line
//                       "id@start:end ..." (code point offsets, no special tokens),
//                       with unigram/tokenizer.json
//   unigram-bf.dev.gz   the same for the first 1000 texts with unigram-bf/tokenizer.json
//                       (byte fallback)
//   unigram-tricky.json hard cases: the texts of tricky.json and more, each with
//                       its encoding by "unigram", "unigram-bf" and "unigram-legacy"
//                       (unigram/tokenizer.json rewritten to the layout T5's
//                       tokenizer.json had before tokenizers 0.14: Precompiled
//                       alone, WhitespaceSplit + Metaspace with add_prefix_space),
//                       and "dec:NAME" / "decs:NAME": decode() of the ids with
//                       special tokens added, keeping / skipping the specials
//                       (NUL characters removed: C strings cannot hold them).
//   unigram-probe.gz    the Precompiled charsmap alone, through a byte-level probe
//                       (one token per normalized byte, offsets = its original
//                       characters): "HEX id@s:e ..." for "a" + character + "b"
//                       for every code point the charsmap changes, and for some
//                       of them followed by combining marks (grapheme clusters).
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const os = require('os');

let tk;
try {
  tk = require('tokenizers');
} catch (err) {
  console.error('unigram_ref.js: cannot load the npm package "tokenizers"; install it with\n' +
    '  npm install --prefix /work/npm-ref tokenizers\nand run with NODE_PATH=/work/npm-ref/node_modules');
  process.exit(2);
}

const BF_TEXTS = 1000;

function devTexts(squadDir) {
  const d = JSON.parse(fs.readFileSync(path.join(squadDir, 'dev-v2.0-a.json'), 'utf8'));
  const out = [];
  for (const a of d.data) {
    for (const p of a.paragraphs) {
      out.push(p.context);
      for (const q of p.qas) out.push(q.question);
    }
  }
  return out;
}

function format(enc) {
  const ids = enc.getIds();
  const off = enc.getOffsets();
  return ids.map((id, i) => `${id}@${off[i][0]}:${off[i][1]}`).join(' ');
}

// unigram/tokenizer.json as T5's tokenizer.json looked before tokenizers 0.14
// (tests/unit/test_unigram.c makes the same rewrite).
function legacyLayout(j) {
  const l = JSON.parse(JSON.stringify(j));
  l.normalizer = j.normalizer.normalizers[0];
  l.pre_tokenizer = {
    type: 'Sequence',
    pretokenizers: [{ type: 'WhitespaceSplit' },
      { type: 'Metaspace', replacement: '\u2581', add_prefix_space: true }],
  };
  l.decoder = { type: 'Metaspace', replacement: '\u2581', add_prefix_space: true };
  return l;
}

// A byte-level probe around a normalizer (the layout of probe-nfc).
function probeLayout(normalizer, probeNfc) {
  const p = JSON.parse(JSON.stringify(probeNfc));
  p.normalizer = normalizer;
  return p;
}

function fromJson(obj) {
  const tmp = path.join(os.tmpdir(), `qaterm-uni-${process.pid}-${Math.random().toString(36).slice(2)}.json`);
  fs.writeFileSync(tmp, JSON.stringify(obj));
  const t = tk.Tokenizer.fromFile(tmp);
  fs.unlinkSync(tmp);
  return t;
}

const EXTRA = [
  'question: Who wrote it? context: It was written by  Jane   Austen in 1813.',
  'ｶﾞ ｷﾞ ﾊﾟ ガ カ\u3099 ｶ\u3099 Ａ\u0301 ＡＢＣ１２３ ﬁﬂ ½ ¼ ™ № ℃ ㍻ ㈱ ①',
  '𝔾𝕠𝕠𝕕 𝕞𝕠𝕣𝕟𝕚𝕟𝕘 𝐀𝐁 \u2460\u0301 x\u200dy \u00a0\u00a0a \u3000b',
  'tab\there \u000b\u000c vt ff \u001e\u001f us \u0085 nel \u2028 ls',
  '™\u001eg a\u0000b \u200b\u200bz \u00ad\u00adq \ufeffbom',
  '<unk> </s> <pad> <extra_id_0> <extra_id_7>x y<extra_id_3> <0x41> <s>',
  'trailing   ', '   leading', '  ', 'a  b   c    d', '▁ ▁▁ x▁y ▁',
  '\u0e40\u0e02\u0e32\u0e44\u0e21\u0e48\u0e44\u0e14\u0e49\u0e1e\u0e39\u0e14 \u0915\u094d\u0937 \u0915\u093f',
  'Ω ℮ Å K ǅ ǈ ﹏ ﹖ ︵ ｡ ｢ｰ｣ ･ ﾟ ﾞ',
  '\u1100\u1161\u11a8 \u1100\u1161 \uac00\u11a8 각',
  'e\u0301\u0302 e\u0301\u0323 a\u0308\u0301 ａ\u0308 ｅ\u0301\u0301',
  '🇫🇷🇩🇪 👍🏽 👨‍👩‍👧 ❤️ #️⃣ 1️⃣',
  'Ⅻ ⅻ ㎞ ㎏ ㏄ ㍉ ﷺ ﷽ ﬀ ﬃ ﭏ',
  '\u0627\u0644\u0639\u0631\u0628\u064a\u0629 \ufefb \ufef5 \u0644\u0627',
  'x'.repeat(40) + ' ' + 'Ж'.repeat(20) + ' ' + '\u4e2d'.repeat(10),
];

async function cmdExpect(squadDir, outDir) {
  const uniJson = JSON.parse(fs.readFileSync(path.join(outDir, 'unigram', 'tokenizer.json'), 'utf8'));
  const toks = {
    unigram: tk.Tokenizer.fromFile(path.join(outDir, 'unigram', 'tokenizer.json')),
    'unigram-bf': tk.Tokenizer.fromFile(path.join(outDir, 'unigram-bf', 'tokenizer.json')),
    'unigram-legacy': fromJson(legacyLayout(uniJson)),
  };
  const texts = devTexts(squadDir);
  // byte fallback makes long lines: its file keeps the first BF_TEXTS texts
  for (const [name, n] of [['unigram', texts.length], ['unigram-bf', BF_TEXTS]]) {
    const lines = [];
    for (const t of texts.slice(0, n)) lines.push(format(await toks[name].encode(t, null, { addSpecialTokens: false })));
    const gz = zlib.gzipSync(lines.join('\n') + '\n', { level: 9 });
    fs.writeFileSync(path.join(outDir, `${name}.dev.gz`), gz);
    console.error(`${name}: ${lines.length} texts, ${gz.length} bytes gzip'd`);
  }

  const base = JSON.parse(fs.readFileSync(path.join(outDir, 'tricky.json'), 'utf8')).map((c) => c.text);
  const cases = [];
  for (const text of [...base, ...EXTRA, ...texts.slice(0, 12)]) {
    const c = { text, hex: Buffer.from(text, 'utf8').toString('hex') };
    for (const [name, tok] of Object.entries(toks)) {
      c[name] = format(await tok.encode(text, null, { addSpecialTokens: false }));
      const ids = (await tok.encode(text, null, { addSpecialTokens: true })).getIds();
      c[`ids:${name}`] = ids.join(' ');
      // C strings cannot hold NUL: qaterm's decode drops it
      c[`dec:${name}`] = (await tok.decode(ids, false)).replace(/\u0000/g, '');
      c[`decs:${name}`] = (await tok.decode(ids, true)).replace(/\u0000/g, '');
    }
    cases.push(c);
  }
  fs.writeFileSync(path.join(outDir, 'unigram-tricky.json'), JSON.stringify(cases, null, 1) + '\n');
  console.error(`unigram-tricky.json: ${cases.length} cases`);

  // the charsmap on its own, character by character
  const probeNfc = JSON.parse(fs.readFileSync(path.join(outDir, 'probe-nfc', 'tokenizer.json'), 'utf8'));
  const pre = uniJson.normalizer.normalizers[0];
  const probe = fromJson(probeLayout(pre, probeNfc));
  const nz = probe.getNormalizer();
  const lines = [];
  const marks = ['\u0301', '\u0308\u0301', '\u3099', '\uff9e', '\u200d'];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    if (nz.normalizeString('a' + c + 'b') === 'a' + c + 'b') continue;
    const variants = [c];
    if (cp < 0x10000) for (const m of marks) variants.push(c + m);
    for (const v of variants) {
      const text = 'a' + v + 'b';
      const hex = Buffer.from(v, 'utf8').toString('hex');
      lines.push(`${hex} ${format(await probe.encode(text, null, { addSpecialTokens: false }))}`);
    }
  }
  const gz = zlib.gzipSync(lines.join('\n') + '\n', { level: 9 });
  fs.writeFileSync(path.join(outDir, 'unigram-probe.gz'), gz);
  console.error(`unigram-probe.gz: ${lines.length} texts, ${gz.length} bytes`);
}

async function main() {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === 'expect' && a && b) await cmdExpect(a, b);
  else {
    console.error('usage: unigram_ref.js expect SQUAD_DIR OUTDIR');
    process.exit(2);
  }
}

main().catch((err) => {
  console.error(`unigram_ref.js: ${err.stack || err}`);
  process.exit(1);
});
