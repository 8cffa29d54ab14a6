/*
 * What the CLI prints in a terminal: tables line up when titles and snippets
 * are Korean or Chinese (two cells a character), and snippets read as text,
 * not as the HTML the API sends.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { plainSnippet, renderTable, type SceneHit } from '../../cli/commands/search.ts';
import { displayWidth, padDisplay, truncateDisplay } from '../../cli/text-width.ts';

test('display width: wide characters take two cells, combining marks none', () => {
  assert.equal(displayWidth('abc'), 3);
  assert.equal(displayWidth('고양이'), 6);
  assert.equal(displayWidth('客户 ok'), 7);
  assert.equal(displayWidth('ｶﾀｶﾅ'), 4, 'half-width katakana is narrow');
  assert.equal(displayWidth('e\u0301'), 1, 'a combining accent adds nothing');
  assert.equal(displayWidth('🎬'), 2);
  assert.equal(padDisplay('고양이', 8), '고양이  ');
  assert.equal(truncateDisplay('고양이가 소파 위에서', 9), '고양이가…');
  assert.equal(displayWidth(truncateDisplay('고양이가 소파 위에서', 9)), 9);
  assert.equal(truncateDisplay('short', 9), 'short');
});

test('the search table lines up whatever the script, and snippets are plain text', () => {
  const hit = (rank: number, title: string, snippet: string): SceneHit => ({
    rank,
    sceneId: `s${rank}`,
    videoId: `v${rank}`,
    title,
    startS: 65,
    endS: 70,
    score: 0.5,
    components: { text: 0.5, vision: 0, tags: 0 },
    snippet,
    previewUrl: `http://x/${rank}`,
    thumbnailUrl: null,
    persons: [],
  });
  const lines = renderTable([
    hit(1, 'Team meeting', 'we talk about <b>retention</b> &amp; churn'),
    hit(2, '고양이 영상 모음 2026년 여름 휴가 바다', '<b>고양이가</b> 잔다'),
    hit(3, '客户会议', '讨论<b>客户保留</b>率 &lt;Q3&gt;'),
  ]).split('\n');
  // Each column starts at the same terminal cell on every line.
  const at = (line: string, needle: string) => displayWidth(line.slice(0, line.indexOf(needle)));
  const time = lines.slice(1).map((l) => at(l, '1:05–1:10'));
  assert.equal(new Set(time).size, 1, lines.join('\n'));
  assert.equal(time[0], at(lines[0]!, 'time'));
  const preview = lines.slice(1).map((l, i) => at(l, `http://x/${i + 1}`));
  assert.equal(new Set(preview).size, 1, lines.join('\n'));
  assert.match(lines[1]!, /we talk about retention & churn/);
  assert.match(lines[2]!, /고양이 영상 모음 2026년…/, 'a title cut at 24 cells');
  assert.match(lines[3]!, /讨论客户保留率 <Q3>/);
  assert.equal(plainSnippet('a &quot;b&quot; &amp;lt;', 60), 'a "b" &lt;', 'unescaped once');
});
