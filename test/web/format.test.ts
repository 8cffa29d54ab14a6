/*
 * The web app's pure helpers: the m:ss–m:ss contract, snippets parsed (never
 * injected as HTML), uploads and enrolment photos checked before a byte is
 * sent, and how people are named, listed and blamed for an API error.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  clock,
  missingNotice,
  personName,
  personOption,
  photoNamedIn,
  snippetParts,
  sortPersons,
  timeRange,
} from '../../server/web/src/format.ts';
import { photoCheck, planUploads } from '../../server/web/src/upload.ts';
import { queryParts } from '../../server/web/src/words.ts';

test('time ranges are m:ss–m:ss with an en dash; hours appear only when needed', () => {
  assert.equal(timeRange(0, 4), '0:00–0:04');
  assert.equal(timeRange(64.9, 75.2), '1:04–1:15');
  assert.equal(clock(3725), '1:02:05');
  assert.equal(clock(-3), '0:00');
});

test('snippets become text runs; markup in a transcript stays text', () => {
  assert.deepEqual(snippetParts('waves roll across the <b>ocean</b> &lt;script&gt;'), [
    { text: 'waves roll across the ', hit: false },
    { text: 'ocean', hit: true },
    { text: ' <script>', hit: false },
  ]);
  assert.deepEqual(snippetParts('<b>A</b><b>B</b>'), [
    { text: 'A', hit: true },
    { text: 'B', hit: true },
  ]);
  assert.deepEqual(snippetParts(''), []);
});

test("a transcript line marks the search's words in the forms search finds, and nothing for common words", () => {
  const hits = (text: string, q: string) =>
    queryParts(text, q)
      .filter((p) => p.hit)
      .map((p) => p.text);
  assert.deepEqual(hits('We are Roasting the tomatoes, then whisk.', 'roasted tomato'), ['Roasting', 'tomatoes']);
  assert.deepEqual(hits('whisk the eggs', 'whisking egg'), ['whisk', 'eggs']);
  assert.deepEqual(hits('the ocean and the sea', 'the and'), []);
  assert.deepEqual(hits('an ox at sea', 'ox'), [], 'two letters are too short to point at anything');
  assert.deepEqual(hits('客户保留率和客户', '客户'), ['客户', '客户']);
  // Every character is kept, in order, hit or not.
  const text = 'waves <roll> across the ocean 客户';
  assert.equal(
    queryParts(text, 'ocean roll 客户')
      .map((p) => p.text)
      .join(''),
    text,
  );
  assert.deepEqual(queryParts('', 'ocean'), []);
  assert.deepEqual(queryParts('no query', ''), [{ text: 'no query', hit: false }]);
});

test('uploads: subtitles pair with their video by base name; bad files are refused with a reason', () => {
  const f = (name: string, size: number, type = '') => ({ name, size, type });
  const limits = {
    maxBytes: 1000,
    contentTypes: ['video/mp4', 'video/x-matroska', 'video/mp2t', 'application/x-subrip', 'text/vtt', 'text/x-ssa'],
  };
  const { uploads, refused } = planUploads(
    [
      f('talk.mp4', 500, 'video/mp4'),
      f('talk.srt', 10),
      f('film.mkv', 900),
      f('huge.mp4', 5000, 'video/mp4'),
      f('notes.txt', 10, 'text/plain'),
      f('orphan.vtt', 10),
      f('empty.mp4', 0, 'video/mp4'),
      f('clip.mov', 100, 'video/quicktime'),
      // A camcorder file: Chromium calls .mts "model/vnd.mts".
      f('00012.MTS', 300, 'model/vnd.mts'),
      f('00012.ass', 10),
    ],
    limits,
  );
  assert.deepEqual(
    uploads.map((u) => [u.video.name, u.videoType, u.subtitles?.name, u.subtitleType, u.title]),
    [
      ['talk.mp4', 'video/mp4', 'talk.srt', 'application/x-subrip', 'talk'],
      ['film.mkv', 'video/x-matroska', undefined, undefined, 'film'],
      ['00012.MTS', 'video/mp2t', '00012.ass', 'text/x-ssa', '00012'],
    ],
  );
  const why = Object.fromEntries(refused.map((r) => [r.file.name, r.reason]));
  assert.match(why['huge.mp4']!, /too large: 5000, the limit is 1000/);
  assert.match(why['notes.txt']!, /not a video type/);
  assert.match(why['orphan.vtt']!, /no video named orphan/);
  assert.match(why['empty.mp4']!, /empty/);
  assert.match(why['clip.mov']!, /video\/quicktime/, 'a type the server does not accept is refused before upload');
  assert.equal(refused.length, 5);
});

test('a missing modality is explained in words a user can act on', () => {
  assert.equal(missingNotice('vision'), 'visual search is off: the vision model is not installed');
  assert.match(missingNotice('text'), /only exact words match/);
});

test('people: names, menu labels, order, and which photo an API error is about', () => {
  const p = (id: string, name: string | null, faceCount: number) => ({ id, name, faceCount });
  assert.equal(personName({ name: null }), 'Unnamed person');
  assert.equal(personOption(p('a', null, 1)), 'Unnamed person (1 face)');
  assert.equal(personOption(p('a', 'Dana', 4)), 'Dana');
  assert.deepEqual(
    sortPersons([p('1', null, 2), p('2', 'nurse', 1), p('3', null, 9), p('4', 'Dana', 3)]).map((x) => x.id),
    ['4', '2', '3', '1'],
  );
  const keys = ['u/me/k1/nurse.jpg', 'u/me/k2/no-face.png'];
  assert.equal(photoNamedIn('No face was found in photo "no-face.png"', keys), 'u/me/k2/no-face.png');
  assert.equal(photoNamedIn('Photo "u/me/k1/nurse.jpg" has content type "x"', keys), 'u/me/k1/nurse.jpg');
  assert.equal(photoNamedIn('Face recognition is turned off', keys), undefined);
});

test('enrolment photos are checked before uploading', () => {
  const limits = { maxBytes: 1000, contentTypes: ['video/mp4', 'image/jpeg', 'image/png', 'image/webp'] };
  assert.deepEqual(photoCheck({ name: 'a.JPG', size: 10, type: '' }, limits), { type: 'image/jpeg' });
  assert.deepEqual(photoCheck({ name: 'a.webp', size: 10, type: 'image/webp' }, limits), { type: 'image/webp' });
  assert.match((photoCheck({ name: 'a.gif', size: 10, type: 'image/gif' }, limits) as any).reason, /not a JPEG/);
  assert.match((photoCheck({ name: 'a.png', size: 5000, type: 'image/png' }, limits) as any).reason, /too large/);
  assert.match((photoCheck({ name: 'a.png', size: 0, type: 'image/png' }, limits) as any).reason, /empty/);
  // A server that does not take photos refuses them here too.
  assert.ok(
    'reason' in photoCheck({ name: 'a.png', size: 10, type: 'image/png' }, { ...limits, contentTypes: ['video/mp4'] }),
  );
});
