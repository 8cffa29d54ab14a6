/*
 * The README's checked parts: its configuration table is exactly what
 * OPTIONS generates, and every heimdex command it shows exists.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { OPTIONS } from '../core/config.ts';
import { COMMANDS } from '../cli/commands/index.ts';
import { README, renderConfigTable, withConfigTable } from '../cli/config-table.ts';

const readme = fs.readFileSync(README, 'utf8');

test('the configuration table matches OPTIONS (regenerate with: heimdex config table --write)', () => {
  assert.equal(
    withConfigTable(readme),
    readme,
    'README.md configuration table is stale: run node cli/heimdex.js config table --write',
  );
  for (const o of OPTIONS) assert.ok(readme.includes(`| \`${o.env}\` |`), `${o.env} is missing from the README table`);
});

test('the table generator reflects a changed option, so the check above can fail', () => {
  const changed = OPTIONS.map((o) => (o.env === 'HEIMDEX_PORT' ? { ...o, default: '9999' } : o));
  assert.notEqual(renderConfigTable(changed), renderConfigTable());
  assert.match(renderConfigTable(changed), /\| `HEIMDEX_PORT` \| `9999` \|/);
});

/** `heimdex …` invocations in code blocks and inline code. */
function shownCommands(md: string): string[][] {
  const code: string[] = [];
  let inBlock = false;
  for (const line of md.split('\n')) {
    if (line.startsWith('```')) inBlock = !inBlock;
    else if (inBlock) code.push(line);
    else for (const m of line.matchAll(/`([^`]+)`/g)) code.push(m[1]!);
  }
  const found: string[][] = [];
  for (const c of code) {
    for (const m of c.matchAll(/(?:^|[\s$(&|;])heimdex ([a-z][a-z-]*)(?: ([a-z][a-z|-]*))?/g))
      found.push([m[1]!, ...(m[2] ? [m[2]] : [])]);
  }
  return found;
}

test('every heimdex command the README shows exists', () => {
  const names = new Set(COMMANDS.map((c) => c.name));
  const groups = new Set(COMMANDS.filter((c) => c.name.includes(' ')).map((c) => c.name.split(' ')[0]!));
  const shown = shownCommands(readme);
  assert.ok(shown.length > 15, `expected the README to show the CLI, found ${shown.length} invocations`);
  for (const [first, second] of shown) {
    if (groups.has(first!)) {
      for (const sub of (second ?? '').split('|'))
        assert.ok(names.has(`${first} ${sub}`), `README shows "heimdex ${first} ${sub}", which does not exist`);
    } else {
      assert.ok(names.has(first!), `README shows "heimdex ${first}", which does not exist`);
    }
  }
  assert.throws(() => {
    for (const [first] of shownCommands('`heimdex frobnicate`')) assert.ok(names.has(first!));
  });
});
