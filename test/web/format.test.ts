/*
 * The web app's pure helpers: the m:ss–m:ss contract, snippets parsed (never
 * injected as HTML), and uploads planned before a byte is sent.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { clock, missingNotice, snippetParts, timeRange } from '../../server/web/src/format.ts';
import { planUploads } from '../../server/web/src/upload.ts';

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

test('uploads: subtitles pair with their video by base name; bad files are refused with a reason', () => {
  const f = (name: string, size: number, type = '') => ({ name, size, type });
  const limits = {
    maxBytes: 1000,
    contentTypes: ['video/mp4', 'video/x-matroska', 'application/x-subrip', 'text/vtt'],
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
    ],
    limits,
  );
  assert.deepEqual(
    uploads.map((u) => [u.video.name, u.videoType, u.subtitles?.name, u.subtitleType, u.title]),
    [
      ['talk.mp4', 'video/mp4', 'talk.srt', 'application/x-subrip', 'talk'],
      ['film.mkv', 'video/x-matroska', undefined, undefined, 'film'],
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
