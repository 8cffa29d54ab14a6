import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  assertValidKey,
  InvalidKeyError,
  keyframeKey,
  newVideoKey,
  sanitiseFilename,
} from '../../core/storage/keys.ts';
import { parseRange } from '../../server/routes/storage.ts';

describe('sanitiseFilename', () => {
  const cases: Array<[string, string]> = [
    ['holiday.mp4', 'holiday.mp4'],
    ['../../etc/passwd', 'passwd'],
    ['C:\\Users\\me\\Film Clip (1).MOV', 'Film_Clip_1.mov'],
    ['.hidden.webm', 'hidden.webm'],
    ['Café déjà vu.mkv', 'Cafe_deja_vu.mkv'],
    ['<b>alert(1)<b>.mp4', 'b_alert_1_b.mp4'],
    ['...', 'upload'],
    ['', 'upload'],
    ['no-extension', 'no-extension'],
    ['a'.repeat(300) + '.mp4', 'a'.repeat(116) + '.mp4'],
  ];
  for (const [input, want] of cases) {
    it(`${JSON.stringify(input.slice(0, 40))} -> ${want.slice(0, 40)}`, () => {
      const got = sanitiseFilename(input);
      assert.equal(got, want);
      assertValidKey(`u/x/${got}`);
    });
  }
});

describe('keys', () => {
  it('puts videos under the owner prefix with a fresh uuid folder', () => {
    const owner = '6f1c1e9a-0c7e-4d6b-9f7e-1a2b3c4d5e6f';
    const a = newVideoKey(owner, 'My Film.mp4');
    const b = newVideoKey(owner, 'My Film.mp4');
    assert.match(a, new RegExp(`^u/${owner}/[0-9a-f-]{36}/My_Film\\.mp4$`));
    assert.notEqual(a, b);
    assert.equal(keyframeKey(owner, 'v1', 3), `u/${owner}/v1/keyframes/3.jpg`);
  });

  it('refuses anything but plain relative keys', () => {
    for (const bad of ['', '/a', 'a/../b', 'a/./b', 'a//b', 'a\\b', 'a\nb', '.a', 'a/.b', 'C:/x', 'x'.repeat(1025)]) {
      assert.throws(() => assertValidKey(bad), InvalidKeyError, JSON.stringify(bad.slice(0, 20)));
    }
    assertValidKey('u/a/b c.mp4');
  });
});

describe('parseRange', () => {
  it('parses single byte ranges and flags unsatisfiable ones', () => {
    assert.deepEqual(parseRange('bytes=0-9', 100), { start: 0, end: 9 });
    assert.deepEqual(parseRange('bytes=90-', 100), { start: 90, end: 99 });
    assert.deepEqual(parseRange('bytes=-5', 100), { start: 95, end: 99 });
    assert.deepEqual(parseRange('bytes=-500', 100), { start: 0, end: 99 });
    assert.deepEqual(parseRange('bytes=50-5000', 100), { start: 50, end: 99 });
    assert.equal(parseRange('bytes=100-', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=9-3', 100), 'unsatisfiable');
    assert.equal(parseRange('bytes=-0', 100), 'unsatisfiable');
    assert.equal(parseRange(undefined, 100), null);
    assert.equal(parseRange('bytes=0-1,5-6', 100), null);
    assert.equal(parseRange('items=0-1', 100), null);
  });
});
