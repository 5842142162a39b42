#!/usr/bin/env node
// Reference for qaterm's tokenizers (dev time only): Hugging Face's own
// `tokenizers` npm package trains the test tokenizers and says what every
// text must encode to. CI never runs this; it checks the committed outputs.
//
//   npm install --prefix /work/npm-ref tokenizers
//   export NODE_PATH=/work/npm-ref/node_modules
//
//   tokenizers_ref.js train SQUAD_DIR OUTDIR
//       trains WordPiece (uncased, cased) and byte-level BPE on the contexts
//       of SQUAD_DIR/train-v1.1.json and writes, under OUTDIR (normally
//       tests/fixtures/tok):
//         wp-uncased/ wp-cased/   vocab.txt, tokenizer.json, tokenizer_config.json
//         bpe-roberta/            tokenizer.json: RoBERTa's layout ("a b" merges,
//                                 add_prefix_space, RobertaProcessing trimming)
//         bpe-neox/               tokenizer.json: GPT-NeoX's layout ([a, b] merges,
//                                 NFC, ByteLevel trimming, added runs of spaces)
//         probe-*/                tiny byte-level tokenizers without merges whose
//                                 tokens show where every normalized byte comes from
//       The BPE vocabularies are the 256 byte characters plus the first merges
//       the trainer learnt; the WordPiece ones the first tokens it learnt.
//   tokenizers_ref.js expect SQUAD_DIR OUTDIR
//       OUTDIR/NAME.dev.gz: for every context and question of
//       SQUAD_DIR/dev-v2.0-a.json (each context, then its questions, in file
//       order), one line "id@start:end ..." (code point offsets, no special
//       tokens); OUTDIR/tricky.json: hard cases and their encodings.
//   tokenizers_ref.js unicode OUTFILE.gz
//       how HF classifies every code point, for tests/unit/test_tok: lines
//       "CP[-CP] CLASSES [MAPPINGS]" (hex), CLASSES being R (BERT's
//       clean_text removes it) or W (turns it into a space), P (BERT
//       isolates it) or S (BERT splits on it), and the GPT-2 regex class
//       l(etter), n(umber), s(pace) or o(ther); MAPPINGS give what A (BERT
//       strip_accents), L (Lowercase), D (NFD), K (NFKC) and C (NFC) make of
//       the character when that differs from it.
'use strict';

const fs = require('fs');
const path = require('path');
const zlib = require('zlib');
const os = require('os');

let tk;
try {
  tk = require('tokenizers');
} catch (err) {
  console.error('tokenizers_ref.js: cannot load the npm package "tokenizers"; install it with\n' +
    '  npm install --prefix /work/npm-ref tokenizers\nand run with NODE_PATH=/work/npm-ref/node_modules');
  process.exit(2);
}

const SIZES = { 'wp-uncased': 12000, 'wp-cased': 12000, 'bpe-roberta': 12000, 'bpe-neox': 10000 };
const WP_SPECIALS = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]'];

// ---- texts ----

function trainTexts(squadDir) {
  const d = JSON.parse(fs.readFileSync(path.join(squadDir, 'train-v1.1.json'), 'utf8'));
  const seen = new Set();
  for (const a of d.data) for (const p of a.paragraphs) seen.add(p.context.replace(/\n/g, ' '));
  return [...seen];
}

// Every context followed by its questions, in file order: the order
// tests/cli/tokenize.sh extracts them in.
function devTexts(squadDir) {
  const d = JSON.parse(fs.readFileSync(path.join(squadDir, 'dev-v2.0-a.json'), 'utf8'));
  const out = [];
  for (const a of d.data) {
    for (const p of a.paragraphs) {
      out.push(p.context);
      for (const q of p.qas) out.push(q.question);
    }
  }
  for (const t of out) if (/\n/.test(t)) throw new Error('a text holds a newline; one line per text breaks');
  return out;
}

// ---- the byte-level alphabet ----

function byteChars() {
  const printable = (b) => (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
  const out = [];
  let n = 0;
  for (let b = 0; b < 256; b++) out.push(String.fromCodePoint(printable(b) ? b : 256 + n++));
  return out;
}

// ---- training ----

function train(model, normalizer, preTokenizer, textFile) {
  const t = new tk.Tokenizer(model);
  if (normalizer) t.setNormalizer(normalizer);
  t.setPreTokenizer(preTokenizer);
  t.train([textFile]);
  const tmp = path.join(os.tmpdir(), `qaterm-tok-${process.pid}.json`);
  t.save(tmp);
  const j = JSON.parse(fs.readFileSync(tmp, 'utf8'));
  fs.unlinkSync(tmp);
  return j.model;
}

function addedToken(id, content, special, extra = {}) {
  return Object.assign({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special },
    extra);
}

function writeJson(file, obj) {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, JSON.stringify(obj) + '\n');
}

function wordPiece(trained, lowercase, size, dir) {
  const tokens = [...WP_SPECIALS];
  const have = new Set(tokens);
  const byId = Object.entries(trained.vocab).sort((x, y) => x[1] - y[1]);
  for (const [tok] of byId) {
    if (tokens.length >= size) break;
    if (!have.has(tok)) {
      have.add(tok);
      tokens.push(tok);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'vocab.txt'), tokens.join('\n') + '\n');
  writeJson(path.join(dir, 'tokenizer_config.json'), { do_lower_case: lowercase, tokenizer_class: 'BertTokenizer' });
  const vocab = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  const special = (name) => ({ id: name, ids: [tokens.indexOf(name)], tokens: [name] });
  writeJson(path.join(dir, 'tokenizer.json'), {
    version: '1.0', truncation: null, padding: null,
    added_tokens: WP_SPECIALS.map((s) => addedToken(tokens.indexOf(s), s, true)),
    normalizer: { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }],
      pair: [{ SpecialToken: { id: '[CLS]', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } },
        { SpecialToken: { id: '[SEP]', type_id: 0 } }, { Sequence: { id: 'B', type_id: 1 } },
        { SpecialToken: { id: '[SEP]', type_id: 1 } }],
      special_tokens: { '[CLS]': special('[CLS]'), '[SEP]': special('[SEP]') },
    },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: { type: 'WordPiece', unk_token: '[UNK]', continuing_subword_prefix: '##', max_input_chars_per_word: 100, vocab },
  });
}

// specials first, the 256 byte characters, then merge results in merge
// order until the vocabulary has `size` entries.
function bpeVocab(trained, head, size) {
  const tokens = [...head, ...byteChars()];
  const have = new Set(tokens);
  const merges = [];
  for (const m of trained.merges) {
    const [a, b] = Array.isArray(m) ? m : m.split(' ');
    if (tokens.length >= size) break;
    if (!have.has(a) || !have.has(b)) continue;
    merges.push([a, b]);
    if (!have.has(a + b)) {
      have.add(a + b);
      tokens.push(a + b);
    }
  }
  const vocab = {};
  tokens.forEach((t, i) => { vocab[t] = i; });
  return { tokens, vocab, merges };
}

function roberta(trained, size, dir) {
  const { tokens, vocab, merges } = bpeVocab(trained, ['<s>', '<pad>', '</s>', '<unk>'], size - 1);
  vocab['<mask>'] = tokens.length;
  writeJson(path.join(dir, 'tokenizer.json'), {
    version: '1.0', truncation: null, padding: null,
    added_tokens: [addedToken(0, '<s>', true), addedToken(1, '<pad>', true), addedToken(2, '</s>', true),
      addedToken(3, '<unk>', true), addedToken(tokens.length, '<mask>', true, { lstrip: true })],
    normalizer: null,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    post_processor: { type: 'RobertaProcessing', sep: ['</s>', 2], cls: ['<s>', 0], trim_offsets: true, add_prefix_space: true },
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: '', end_of_word_suffix: '',
      fuse_unk: false, byte_fallback: false, vocab, merges: merges.map(([a, b]) => `${a} ${b}`),
    },
  });
}

function neox(trained, size, dir) {
  const { tokens, vocab, merges } = bpeVocab(trained, ['<|endoftext|>', '<|padding|>'], size);
  const added = [addedToken(0, '<|endoftext|>', true), addedToken(1, '<|padding|>', true)];
  for (let n = 24; n >= 2; n--) added.push(addedToken(tokens.length + 24 - n, ' '.repeat(n), false, { normalized: true }));
  const bl = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  writeJson(path.join(dir, 'tokenizer.json'), {
    version: '1.0', truncation: null, padding: null, added_tokens: added,
    normalizer: { type: 'NFC' }, pre_tokenizer: bl, post_processor: bl, decoder: bl,
    model: {
      type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab, merges,
    },
  });
}

// Byte-level, no regex split, no merges: one token per normalized byte, its
// offsets the original range of that byte.
function probe(normalizer, dir) {
  const vocab = {};
  byteChars().forEach((c, i) => { vocab[c] = i; });
  writeJson(path.join(dir, 'tokenizer.json'), {
    version: '1.0', truncation: null, padding: null, added_tokens: [], normalizer,
    pre_tokenizer: { type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false },
    post_processor: null, decoder: null,
    model: { type: 'BPE', dropout: null, unk_token: null, continuing_subword_prefix: null, end_of_word_suffix: null,
      fuse_unk: false, byte_fallback: false, vocab, merges: [] },
  });
}

const PROBES = {
  'probe-bert': { type: 'BertNormalizer', clean_text: true, handle_chinese_chars: true, strip_accents: null, lowercase: true },
  'probe-nfc': { type: 'NFC' },
  'probe-nfkd-lower': { type: 'Sequence', normalizers: [{ type: 'NFKD' }, { type: 'Lowercase' }, { type: 'StripAccents' }] },
};

function cmdTrain(squadDir, outDir) {
  const textFile = path.join(os.tmpdir(), `qaterm-train-${process.pid}.txt`);
  fs.writeFileSync(textFile, trainTexts(squadDir).join('\n') + '\n');
  try {
    const bert = (lc) => tk.bertNormalizer({ cleanText: true, handleChineseChars: true, stripAccents: lc, lowercase: lc });
    for (const lc of [true, false]) {
      const name = lc ? 'wp-uncased' : 'wp-cased';
      console.error(`training ${name}`);
      const m = train(tk.WordPiece.empty(), bert(lc), tk.bertPreTokenizer(), textFile);
      wordPiece(m, lc, SIZES[name], path.join(outDir, name));
    }
    console.error('training byte-level BPE');
    const m = train(tk.BPE.empty(), null, tk.byteLevelPreTokenizer(true, true), textFile);
    roberta(m, SIZES['bpe-roberta'], path.join(outDir, 'bpe-roberta'));
    neox(m, SIZES['bpe-neox'], path.join(outDir, 'bpe-neox'));
    for (const [name, nz] of Object.entries(PROBES)) probe(nz, path.join(outDir, name));
  } finally {
    fs.unlinkSync(textFile);
  }
}

// ---- expected encodings ----

const TRICKY = [
  '', ' ', '     ', 'a', 'Hello, world!', '  leading and trailing spaces  ',
  'multiple   spaces\tand\ttabs\nnew\nlines\r\nand CRLF', '\n', '\t\t\t\t   \n\n  x',
  'a\u0000b\u0001c\u007fd\u200be\ufeff f\u00adg \ufffd h\u0085i',
  '\u00e9t\u00e9 caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00c9COLE \u00c5ngstr\u00f6m',
  'e\u0301 a\u0308 o\u0302\u0323 \u1e0b\u0323 a\u0301\u0323 cafe\u0301 \u0301abc U\u0308\u0304 \u212b',
  '\u4e2d\u6587\u5b57\u7b26 and \u65e5\u672c\u8a9e\u306e\u30c6\u30ad\u30b9\u30c8 \ud55c\uad6d\uc5b4 \u1100\u1161\u11a8 \u1100\u1161',
  'I \u2764\ufe0f \ud83e\udd17 \ud83d\udc4d\ud83c\udffd \ud83d\udc68\u200d\ud83d\udc69\u200d\ud83d\udc67 flags \ud83c\uddeb\ud83c\uddf7 \ud83e\udee8',
  'a'.repeat(99), 'b'.repeat(100), 'c'.repeat(101), 'supercalifragilistic'.repeat(6), 'x'.repeat(300) + ' y',
  "don't I'll we've they're she'd it's O'Neil 'quoted' rock'n'roll DON'T ''s",
  '3.14159 1,000,000 2020\u20132021 \u00bd \u00b2 \u0661\u0662\u0663 \u2460 \u216b',
  '[CLS] hello [SEP] <s> </s> <mask> <|endoftext|> <|padding|> [MASK][PAD]',
  'The capital is <mask>. x<mask>y   <mask>   end<mask>',
  'a\u00a0b\u2003c\u3000d\u2028e\u1680f \u202f g',
  '\u0130stanbul ISTANBUL \u0131i \u0049\u0307',
  'STRASSE Stra\u00dfe \u03a3\u038a\u03a3\u03a5\u03a6\u039f\u03a3 \u0386\u0388\u0389',
  '\ufb01 ligature \u2460 \ud835\udc00\ud835\udc01 \ud835\udd4f \u33a1',
  '\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440 \u05e2\u05d1\u05e8\u05d9\u05ea \u0627\u0644\u0639\u0631\u0628\u064a\u0629 \u0939\u093f\u0928\u094d\u0926\u0940 \u0e44\u0e17\u0e22',
  'a' + ' '.repeat(30) + 'b' + ' '.repeat(25) + 'c  d   e',
  '\u0378 unassigned \udb40\udc01 tag \ue000 private \u2e5d new punct \u166d',
  'a\u200db\u200cc',
  '!!!???...--- (parens) [brackets] {braces} $5 #tag @user ^_^ ~tilde~ `tick` |pipe| +plus= <less>',
  'https://example.com/path?q=1&x=y user@example.org',
  '  \u00c9t\u00e9  ', ' \u0301', '\u00e9', 'x \ud83e\udd17',
  '\u0391\u0392\u0393 \u03b1\u03b2\u03b3 \u1f08\u1f00',
];

function format(enc) {
  const ids = enc.getIds();
  const off = enc.getOffsets();
  return ids.map((id, i) => `${id}@${off[i][0]}:${off[i][1]}`).join(' ');
}

function fixtureNames(outDir) {
  return fs.readdirSync(outDir).filter((n) => fs.existsSync(path.join(outDir, n, 'tokenizer.json'))).sort();
}

async function cmdExpect(squadDir, outDir) {
  // JS strings index UTF-16 units; the package reports code points. Check
  // that once, on a text with an astral character.
  const probeTok = tk.Tokenizer.fromFile(path.join(outDir, 'wp-cased', 'tokenizer.json'));
  const chk = await probeTok.encode('\ud83e\udd17 ab', null, { addSpecialTokens: false });
  const last = chk.getOffsets()[chk.getOffsets().length - 1];
  if (last[1] !== 4) throw new Error(`offsets are not code points: ${JSON.stringify(chk.getOffsets())}`);

  const texts = devTexts(squadDir);
  // hex: the UTF-8 bytes, for readers whose JSON strings stop at a NUL
  const tricky = TRICKY.map((text) => ({ text, hex: Buffer.from(text, 'utf8').toString('hex') }));
  for (const name of fixtureNames(outDir)) {
    const tok = tk.Tokenizer.fromFile(path.join(outDir, name, 'tokenizer.json'));
    if (!name.startsWith('probe-')) {
      const lines = [];
      for (const t of texts) lines.push(format(await tok.encode(t, null, { addSpecialTokens: false })));
      const gz = zlib.gzipSync(lines.join('\n') + '\n', { level: 9 });
      fs.writeFileSync(path.join(outDir, `${name}.dev.gz`), gz);
      console.error(`${name}: ${texts.length} texts, ${gz.length} bytes gzip'd`);
    }
    for (const c of tricky) c[name] = format(await tok.encode(c.text, null, { addSpecialTokens: false }));
  }
  fs.writeFileSync(path.join(outDir, 'tricky.json'), JSON.stringify(tricky, null, 1) + '\n');
}

// ---- code point classes ----

function cmdUnicode(outFile) {
  const clean = tk.bertNormalizer({ lowercase: false, stripAccents: false, cleanText: true, handleChineseChars: false });
  const strip = tk.bertNormalizer({ lowercase: false, stripAccents: true, cleanText: false, handleChineseChars: false });
  const low = tk.lowercase();
  const nfd = tk.nfdNormalizer();
  const nfkc = tk.nfkcNormalizer();
  const nfc = tk.nfcNormalizer();
  const bp = tk.bertPreTokenizer();
  const bl = tk.byteLevelPreTokenizer(false, true);
  const hex = (s) => [...s].map((x) => x.codePointAt(0).toString(16)).join(',');
  const out = [];
  for (let cp = 0; cp <= 0x10ffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue;
    const c = String.fromCodePoint(cp);
    let f = '';
    const cl = clean.normalizeString('a' + c + 'b');
    f += cl === 'ab' ? 'R' : cl === 'a b' ? 'W' : cl === 'a' + c + 'b' ? '' : '?';
    const n = bp.preTokenizeString('a' + c + 'b').length;
    f += n === 3 ? 'P' : n === 2 ? 'S' : n === 1 ? '' : '!';
    if (bl.preTokenizeString('a' + c).length === 1) f += 'l';
    else if (bl.preTokenizeString('1' + c).length === 1) f += 'n';
    else if (bl.preTokenizeString('!' + c).length === 1) f += 'o';
    else if (bl.preTokenizeString('\t' + c).length === 1) f += 's';
    else f += 'x';
    const st = strip.normalizeString(c);
    if (st !== c) f += ' A' + hex(st);
    const lo = low.normalizeString(c);
    if (lo !== c) f += ' L' + hex(lo);
    const d = nfd.normalizeString(c);
    if (d !== c) f += ' D' + hex(d);
    const k = nfkc.normalizeString(c);
    if (k !== c) f += ' K' + hex(k);
    const e = nfc.normalizeString(c);
    if (e !== c) f += ' C' + hex(e);
    // runs of code points with the same classes and no mappings share a line
    const last = out[out.length - 1];
    if (last && last.f === f && last.hi === cp - 1 && !f.includes(' ')) last.hi = cp;
    else out.push({ lo: cp, hi: cp, f });
  }
  const lines = out.map((r) => (r.lo === r.hi ? r.lo.toString(16) : `${r.lo.toString(16)}-${r.hi.toString(16)}`) + ' ' + r.f);
  fs.writeFileSync(outFile, zlib.gzipSync(lines.join('\n') + '\n', { level: 9 }));
}

async function main() {
  const [cmd, a, b] = process.argv.slice(2);
  if (cmd === 'train' && a && b) cmdTrain(a, b);
  else if (cmd === 'expect' && a && b) await cmdExpect(a, b);
  else if (cmd === 'unicode' && a) cmdUnicode(a);
  else {
    console.error('usage: tokenizers_ref.js train|expect SQUAD_DIR OUTDIR | unicode OUTFILE.gz');
    process.exit(2);
  }
}

main().catch((err) => {
  console.error(`tokenizers_ref.js: ${err.stack || err}`);
  process.exit(1);
});
