/*
 * Writes server/schema.graphql: the API's GraphQL schema as SDL, sorted, so
 * a change to migrations or plugins shows up as a reviewable diff. A test
 * (test/server/schema.test.ts) fails when the committed file is stale.
 *
 *   node server/export-schema.ts           # against the embedded/DATABASE_URL database
 *   node server/export-schema.ts --check   # exit 1 when the file differs
 */
import fs from 'node:fs';
import path from 'node:path';
import { lexicographicSortSchema, printSchema } from 'graphql';
import pg from 'pg';
import { postgraphile } from 'postgraphile';
import { makePreset } from './graphile.config.ts';
import { loadConfig, ROOT_DIR, type Config } from '../core/config.ts';
import { resolveDatabase } from '../core/database.ts';
import { makeUploadsPlugin } from './plugins/uploads.ts';

export const SCHEMA_FILE = path.join(ROOT_DIR, 'server', 'schema.graphql');

/** The SDL the server would serve, built from the database at authUrl. */
export async function printApiSchema(config: Config, authUrl: string): Promise<string> {
  const pool = new pg.Pool({ connectionString: authUrl, max: 2 });
  const built = makePreset({ config, authPool: pool, storage: null, models: null });
  built.preset.plugins = [...(built.preset.plugins ?? []), makeUploadsPlugin({ storage: null, config })];
  const pgl = postgraphile(built.preset);
  try {
    const schema = await pgl.getSchema();
    return printSchema(lexicographicSortSchema(schema)) + '\n';
  } finally {
    await pgl.release();
    built.release();
    await pool.end();
  }
}

if (import.meta.main) {
  const config = loadConfig();
  const { authUrl } = await resolveDatabase(config);
  const sdl = await printApiSchema(config, authUrl);
  if (process.argv.includes('--check')) {
    const current = fs.existsSync(SCHEMA_FILE) ? fs.readFileSync(SCHEMA_FILE, 'utf8') : '';
    if (current !== sdl) {
      console.error(`${path.relative(process.cwd(), SCHEMA_FILE)} is stale: run node server/export-schema.ts`);
      process.exit(1);
    }
  } else {
    fs.writeFileSync(SCHEMA_FILE, sdl);
    console.log(`wrote ${path.relative(process.cwd(), SCHEMA_FILE)}`);
  }
}
