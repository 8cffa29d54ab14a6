import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodeSubtitleBytes,
  guessLanguage,
  looksLikeSubtitles,
  parseSubtitles,
  wholeCues,
} from '../../worker/media/subtitles.ts';
import { collapseLoops, dropRepeats } from '../../worker/ml/repeats.ts';
import {
  assignTranscript,
  chooseTextSamples,
  chunkEnd,
  planScenes,
  textChangeCuts,
} from '../../worker/pipeline/scenes.ts';

test('cuts become scenes covering the whole video', () => {
  assert.deepEqual(planScenes([3, 6], 9, { minS: 1, maxS: 30 }), [
    { start: 0, end: 3 },
    { start: 3, end: 6 },
    { start: 6, end: 9 },
  ]);
  assert.deepEqual(planScenes([], 5, { minS: 1, maxS: 30 }), [{ start: 0, end: 5 }]);
});

test('scenes shorter than the minimum merge into the previous one, also at the ends', () => {
  assert.deepEqual(planScenes([0.4, 3, 3.5, 8.7], 9, { minS: 1, maxS: 30 }), [
    { start: 0, end: 3 },
    { start: 3, end: 9 },
  ]);
});

test('scenes longer than the maximum are split evenly', () => {
  const s = planScenes([10], 75, { minS: 1, maxS: 30 });
  assert.deepEqual(
    s.map((x) => [x.start, x.end].map((t) => Math.round(t * 1000) / 1000)),
    [
      [0, 10],
      [10, 31.667],
      [31.667, 53.333],
      [53.333, 75],
    ],
  );
  for (let i = 1; i < s.length; i++) assert.equal(s[i]!.start, s[i - 1]!.end, 'no gaps or overlaps');
  assert.ok(s.every((x) => x.end - x.start <= 30));
  assert.throws(() => planScenes([], 0, { minS: 1, maxS: 30 }), /positive duration/);
});

test('a segment goes whole to every scene it substantially overlaps, never to a sliver', () => {
  const scenes = [
    { start: 0, end: 3 },
    { start: 3, end: 6 },
    { start: 6, end: 9 },
  ];
  const texts = assignTranscript(
    [
      { start: 0.2, end: 3.05, text: 'first' }, // 0.05 s past the cut: stays in scene 0
      { start: 4, end: 8, text: 'across the cut' }, // 2 s in each: both
      { start: 8.9, end: 8.95, text: 'tiny' }, // shorter than any threshold: where it lies
    ],
    scenes,
  );
  assert.deepEqual(texts, ['first', 'across the cut', 'across the cut tiny']);
});

test('SRT and VTT parse to plain timed text', () => {
  const srt =
    '\uFEFF1\r\n00:00:01,500 --> 00:00:03,000\r\n<i>Hello</i> there\r\nfriend\r\n\r\n2\r\n00:00:04,000 --> 00:00:05,250\r\n{\\an8}Second &amp; last\r\n';
  assert.deepEqual(parseSubtitles(srt), [
    { start: 1.5, end: 3, text: 'Hello there friend' },
    { start: 4, end: 5.25, text: 'Second & last' },
  ]);
  const vtt =
    'WEBVTT\n\nNOTE a comment\n\ncue-1\n00:01.000 --> 00:02.000 align:start\n<v Bob>Hi</v>\n\n01:00:00.000 --> 01:00:01.000\nLate\n\n00:05.000 --> 00:04.000\nbackwards is dropped\n';
  assert.deepEqual(parseSubtitles(vtt), [
    { start: 1, end: 2, text: 'Hi' },
    { start: 3600, end: 3601, text: 'Late' },
  ]);
  assert.deepEqual(parseSubtitles('not subtitles at all'), []);
  // ASS (fansubs): fields as the Format line orders them, the same line in two
  // layers once, comments and vector drawings dropped, override tags stripped.
  const ass = [
    '[Script Info]',
    'Title: sample',
    '',
    '[V4+ Styles]',
    'Format: Name, Fontname, Fontsize',
    'Style: Default,Arial,20',
    '',
    '[Events]',
    'Format: Layer, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text',
    'Dialogue: 0,0:00:01.50,0:00:03.00,Default,,0,0,0,,{\\i1}Hello{\\i0}, there\\Nfriend',
    'Dialogue: 1,0:00:01.50,0:00:03.00,Default,,0,0,0,,{\\i1}Hello{\\i0}, there\\Nfriend',
    'Comment: 0,0:00:02.00,0:00:03.00,Default,,0,0,0,,a note to the translator',
    'Dialogue: 0,1:00:04.00,1:00:05.25,Default,,0,0,0,,{\\p1}m 0 0 l 100 0 100 100{\\p0}Second {\\k20}line',
  ].join('\r\n');
  assert.equal(looksLikeSubtitles(ass), true);
  assert.deepEqual(parseSubtitles(ass), [
    { start: 1.5, end: 3, text: 'Hello, there friend' },
    { start: 3604, end: 3605.25, text: 'Second line' },
  ]);
  // Cut at a size limit, each format keeps its whole cues only, whatever its line ends.
  const lf = (t: string) => t.replace(/\r\n/g, '\n');
  assert.equal(wholeCues(`${ass}\r\nDialogue: 0,0:00:09.00,0:00:10.00,Def`), `${lf(ass)}\n`);
  assert.equal(wholeCues(`${srt}\r\n3\r\n00:00:06,000 --> 00:00:07,000\r\nhalf`), lf(srt));
  // SSA's own Format (Marked instead of Layer) reads the same.
  const ssa =
    '[Events]\nFormat: Marked, Start, End, Style, Name, MarginL, MarginR, MarginV, Effect, Text\nDialogue: Marked=0,0:00:02.00,0:00:04.00,*Default,NTP,0,0,0,,Old format, still words\n';
  assert.deepEqual(parseSubtitles(ssa), [{ start: 2, end: 4, text: 'Old format, still words' }]);
});

test('subtitle files saved in legacy encodings or UTF-16 are read as the text they are', () => {
  const cue = '1\n00:00:01,000 --> 00:00:03,000\n';
  // Bytes as the legacy encoders write them (Python's codecs, checked by hand).
  const legacy: [string, string, string][] = [
    ['euc-kr', 'b0edbee7c0ccb0a120bcd2c6c420c0a7bfa1bcad20c0e1c0bb20c0dcb4d9', '고양이가 소파 위에서 잠을 잔다'],
    ['shift_jis', '944c82aa835c8374834082cc8fe382c5905182c482a282dc82b7', '猫がソファの上で寝ています'],
    ['gb18030', 'ced2c3c7bdf1ccecc8a5baa3b1dfc9a2b2bdc1cb', '我们今天去海边散步了'],
    [
      'big5',
      'a7daadcca4b5a4d1a568aefcc3e4b4b2a842a446a141b36fadd3a661a4e8abdca66e',
      '我們今天去海邊散步了，這個地方很好',
    ],
    ['windows-1251', 'caeef8eae020f1efe8f220ede020e4e8e2e0ede5', 'Кошка спит на диване'],
    [
      'windows-1252',
      '4c6520636166e920e974616974207472e87320626f6e20e0205afc726963682c2064e96ae0',
      'Le café était très bon à Zürich, déjà',
    ],
  ];
  for (const [encoding, hex, words] of legacy) {
    const r = decodeSubtitleBytes(Buffer.concat([Buffer.from(cue), Buffer.from(hex, 'hex'), Buffer.from('\n')]));
    assert.equal(r.encoding, encoding, words);
    assert.deepEqual(parseSubtitles(r.text), [{ start: 1, end: 3, text: words }]);
  }
  const text = `${cue}ça va, 고양이\n`;
  for (const bytes of [
    Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]),
    Buffer.from(text, 'utf16le'),
    Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(text, 'utf16le').swap16()]),
    Buffer.from(`\uFEFF${text}`),
    Buffer.from(text),
  ]) {
    assert.equal(decodeSubtitleBytes(bytes).text.replace(/^\uFEFF/, ''), text);
  }
  // UTF-8 with one stray byte stays UTF-8: no legacy reading of it looks like text.
  const stray = decodeSubtitleBytes(Buffer.concat([Buffer.from(text), Buffer.from([0xe9]), Buffer.from(text)]));
  assert.equal(stray.encoding, 'utf-8');
  assert.equal(stray.text, `${text}\uFFFD${text}`);
  // The first part of a longer file may end inside a character: it is still UTF-8.
  const utf8 = Buffer.from(text);
  assert.deepEqual(decodeSubtitleBytes(utf8.subarray(0, utf8.length - 2), true), {
    text: text.slice(0, -2),
    encoding: 'utf-8',
  });
});

test('subtitles tell their language: by script for Korean, Japanese and Chinese, else by function words', () => {
  const said: Record<string, string> = {
    en: 'I think we should go to the beach today, the weather is nice and you said that it was fine.',
    fr: "Je pense que nous devrions aller à la plage aujourd'hui, il fait beau et vous avez dit que c'était bien.",
    de: 'Ich denke, wir sollten heute an den Strand gehen, das Wetter ist schön und du hast gesagt, dass es gut ist.',
    es: 'Creo que deberíamos ir a la playa hoy, el clima es agradable y dijiste que estaba bien.',
    it: 'Penso che dovremmo andare al mare oggi, il tempo è bello e hai detto che andava bene.',
    pt: 'Eu acho que devemos ir à praia hoje, o tempo está bom e você disse que estava tudo bem.',
    nl: 'Ik denk dat we vandaag naar het strand moeten gaan, het weer is mooi en je zei dat het goed was.',
    sv: 'Jag tycker att vi borde gå till stranden idag, vädret är fint och du sa att det var bra.',
    da: 'Jeg synes, at vi skal gå til stranden i dag, vejret er godt, og du sagde, at det var fint. Hvad mener du?',
    no: 'Jeg synes vi burde gå til stranden i dag, været er fint og du sa at det var bra.',
    fi: 'Minusta meidän pitäisi mennä rannalle tänään, sää on hyvä ja sinä sanoit että se on hyvä.',
    ru: 'Я думаю, что нам стоит пойти на пляж сегодня, погода хорошая, и вы сказали, что это нормально.',
    tr: 'Bence bugün sahile gitmeliyiz, hava çok güzel ve sen de bunun iyi olduğunu söyledin ama.',
    ko: '오늘 해변에 가야 할 것 같아요. 날씨가 좋고 괜찮다고 했잖아요.',
    ja: '今日は海に行くべきだと思います。天気もいいし、大丈夫だと言っていましたね。',
    zh: '我觉得我们今天应该去海边，天气很好，你说过没问题。',
  };
  for (const [lang, text] of Object.entries(said)) assert.equal(guessLanguage([{ text }]), lang, text);
  // Too little to tell, or nothing at all: no guess.
  assert.equal(guessLanguage([{ text: 'APPLE OCEAN FOREST' }]), null);
  assert.equal(guessLanguage([{ text: '♪ ♪' }]), null);
});

test("Whisper's loops are cut back to what was said: a phrase said thrice in a row once, a third identical segment dropped", () => {
  assert.equal(collapseLoops("I'm sorry. I'm sorry. I'm sorry. I'm sorry."), "I'm sorry.");
  assert.equal(collapseLoops('감사합니다. 감사합니다. 감사합니다.'), '감사합니다.');
  assert.equal(collapseLoops('and then sorry sorry sorry sorry, she left'), 'and then sorry, she left');
  // Said twice, or short words (a chant, a count), or just speech: as it was.
  for (const said of ['Thank you. Thank you.', 'no no no', 'la la la la', 'the cat sat on the mat'])
    assert.equal(collapseLoops(said), said);
  const seg = (start: number, text: string) => ({ start, end: start + 1, text });
  assert.deepEqual(
    dropRepeats([
      seg(0, 'Thank you.'),
      seg(1, 'Thank you.'),
      seg(2, 'Thank you.'),
      seg(3, 'Hello'),
      seg(4, 'Thank you.'),
    ]),
    [seg(0, 'Thank you.'), seg(1, 'Thank you.'), seg(3, 'Hello'), seg(4, 'Thank you.')],
  );
  // Said again and again, but with time between: speech, all kept.
  const apart = [seg(0, 'Thank you.'), seg(20, 'Thank you.'), seg(40, 'Thank you.')];
  assert.deepEqual(dropRepeats(apart), apart);
});

test('a long scene is split at its strongest internal change, not at a fixed fraction', () => {
  const curve = Array.from({ length: 400 }, (_, i) => ({ t: i / 5, change: 0.001 }));
  curve[5 * 50]!.change = 0.3;
  curve[5 * 20]!.change = 0.1;
  const s = planScenes([], 80, { minS: 1, maxS: 45 }, curve);
  // 50 s is the strongest change; the 0..50 part is still too long, and 20 s is its strongest.
  assert.deepEqual(
    s.map((x) => [x.start, x.end]),
    [
      [0, 20],
      [20, 50],
      [50, 80],
    ],
  );
  // A change within a quarter of maxS of either end would peel off a sliver: it is passed over.
  const edge = Array.from({ length: 400 }, (_, i) => ({ t: i / 5, change: i === 10 ? 0.5 : 0 }));
  assert.deepEqual(
    planScenes([], 60, { minS: 1, maxS: 40 }, edge).map((x) => [x.start, x.end]),
    [
      [0, 30],
      [30, 60],
    ],
  );
});

test('OCR reads each scene once at least, and at most the budget more per minute, spread out', () => {
  const spans = [
    { start: 0, end: 30 },
    { start: 30, end: 60 },
  ];
  // Ten settled pictures in the first scene, one in the second.
  const samples = [0, 3, 6, 9, 12, 15, 18, 21, 24, 27, 31];
  assert.deepEqual(chooseTextSamples(samples, spans, 60, 20), [[0, 3, 6, 9, 12, 15, 18, 21, 24, 27], [31]]);
  const capped = chooseTextSamples(samples, spans, 60, 3);
  assert.deepEqual(capped[1], [31], 'every scene keeps its first sample');
  assert.equal(capped[0]!.length, 1 + 3);
  assert.deepEqual(capped[0], [0, 6, 15, 24]);
  // No settled picture at all (moving footage): nothing chosen, the keyframe is read instead.
  assert.deepEqual(chooseTextSamples([], spans, 60, 12), [[], []]);
});

test('a substantial change of on-screen text inside a scene is a cut; a small one is not', () => {
  const spans = [{ start: 0, end: 30 }];
  const reads = [
    { t: 0.2, text: 'Quarterly Review revenue grew nine percent' },
    { t: 5, text: 'Quarterly Review revenue grew nine percent costs stayed flat' },
    { t: 12, text: 'Customer Retention churn fell to four percent' },
    { t: 29.5, text: 'Hiring plan two engineers per team' },
  ];
  // 5 s adds a line (same slide); 12 s is another slide; 29.5 s is too close to the end.
  assert.deepEqual(textChangeCuts(reads, spans, 1), [12]);
  // Too few words to judge.
  assert.deepEqual(
    textChangeCuts(
      [
        { t: 1, text: 'OPEN' },
        { t: 9, text: 'CLOSED' },
      ],
      spans,
      1,
    ),
    [],
  );
});

test('an index chunk takes the rest of the video when less than a quarter of a chunk would be left', () => {
  // A 600 s video in 300 s chunks: the second starts at a cut before 300.
  assert.deepEqual(chunkEnd(0, 300, 600), { to: 300, last: false });
  assert.deepEqual(chunkEnd(285, 300, 600), { to: 600, last: true });
  assert.deepEqual(chunkEnd(285, 300, 661), { to: 585, last: false });
  assert.deepEqual(chunkEnd(0, 300, 374), { to: 374, last: true });
  assert.deepEqual(chunkEnd(0, 300, 376), { to: 300, last: false });
  // A video shorter than one chunk is one chunk; so is a sliver past it.
  assert.deepEqual(chunkEnd(0, 300, 30), { to: 30, last: true });
  assert.deepEqual(chunkEnd(0, 300, 300.5), { to: 300.5, last: true });
});
