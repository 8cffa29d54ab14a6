/*
 * server/schema.graphql must match what the server serves. On a deliberate
 * API change regenerate it: UPDATE_SCHEMA=1 npm test -- test/server/schema.test.ts
 * (or `node server/export-schema.ts` against a migrated database).
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { test } from 'node:test';
import { printApiSchema, SCHEMA_FILE } from '../../server/export-schema.ts';
import { loadConfig } from '../../core/config.ts';
import { createTestDatabase } from '../helpers/db.ts';

const db = await createTestDatabase();

test('server/schema.graphql is up to date', async () => {
  const sdl = await printApiSchema(loadConfig(), db.authUrl);
  if (process.env.UPDATE_SCHEMA === '1') fs.writeFileSync(SCHEMA_FILE, sdl);
  const committed = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, 'utf8') : '';
  assert.ok(
    committed === sdl,
    'server/schema.graphql is stale: rerun with UPDATE_SCHEMA=1 (see the comment at the top of this test)',
  );
  // The contract's entry points are in it.
  for (const s of [
    'searchScenes(',
    'videoChanged(',
    'allVideos',
    'videoById(',
    'createUpload(',
    'createVideo(',
    'thumbnailUrl: String',
    'previewUrl: String',
  ]) {
    assert.ok(sdl.includes(s), s);
  }
  for (const s of ['textVec', 'imageVec', 'tsv:', 'search_scenes', 'rowId']) assert.ok(!sdl.includes(s), s);
});
