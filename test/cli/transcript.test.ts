/*
 * `heimdex transcript`'s subtitle formats on lines a real transcript can
 * hold: past the hour, zero-length, with markup characters and blank lines.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatTranscript } from '../../core/transcript.ts';

const lines = [
  { startS: 0.2, endS: 2.8, text: 'first' },
  { startS: 4, endS: 4, text: 'no span' },
  { startS: 3725.0625, endS: 3727.5, text: 'a <b> & c --> d\n\nafter a blank line' },
];

test('SubRip numbers the cues that have a span, with hours and commas, and no blank line inside a cue', () => {
  assert.equal(
    formatTranscript(lines, 'srt'),
    '1\n00:00:00,200 --> 00:00:02,800\nfirst\n\n2\n01:02:05,063 --> 01:02:07,500\na <b> & c --> d\nafter a blank line\n',
  );
});

test('WebVTT escapes what its cue text would read as markup or as a timing line', () => {
  assert.equal(
    formatTranscript(lines, 'vtt'),
    'WEBVTT\n\n00:00:00.200 --> 00:00:02.800\nfirst\n\n01:02:05.063 --> 01:02:07.500\na &lt;b> &amp; c --&gt; d\nafter a blank line\n',
  );
});

test('text keeps every line, one per row, with the time as the app writes it', () => {
  assert.equal(
    formatTranscript(lines, 'text'),
    '0:00  first\n0:04  no span\n1:02:05  a <b> & c --> d after a blank line',
  );
  assert.deepEqual(JSON.parse(formatTranscript(lines, 'json')), lines);
});
