/*
 * server/schema.graphql must match what the server serves. The test only
 * compares (a check that could rewrite its own expectation would always
 * pass); on a deliberate API change regenerate the file with
 * `node server/export-schema.ts` against a migrated database.
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
  const committed = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, 'utf8') : '';
  assert.ok(
    committed === sdl,
    'server/schema.graphql is stale: regenerate it with node server/export-schema.ts (see the comment at the top of this test)',
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
