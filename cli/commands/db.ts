/*
 * `heimdex db ...`: the embedded database's lifecycle, plus migrate/psql/url
 * that also work against DATABASE_URL (docker compose runs `db migrate`).
 */
import { spawnSync } from 'node:child_process';
import pg from 'pg';
import { resolveDatabase, usesEmbedded } from '../../core/database.ts';
import {
  ensureDatabase,
  isRunning,
  readEmbeddedCredentials,
  startEmbedded,
  stopEmbedded,
  pgBinary,
} from '../../core/embedded-pg.ts';
import { migrateDatabase } from '../../core/migrate.ts';
import { config, info, out, type Command } from '../command.ts';
import { runningDatabase } from '../database.ts';
import { CliError } from '../errors.ts';

function embeddedOnly(cfg: ReturnType<typeof config>, what: string) {
  if (!usesEmbedded(cfg)) {
    throw new CliError(
      `a database URL is set (DATABASE_URL or another *_DATABASE_URL), so there is no embedded database to ${what}`,
      'unset the *DATABASE_URL options to use the embedded one',
    );
  }
}

const log = (m: string) => info(`heimdex: ${m}`);

export const dbStart: Command = {
  name: 'db start',
  summary: 'Start the embedded PostgreSQL (creating it on first use); fine to run twice',
  flags: {},
  async run() {
    const cfg = config();
    embeddedOnly(cfg, 'start');
    await startEmbedded(cfg, log);
    out(`embedded PostgreSQL is running on 127.0.0.1:${cfg.dbPort} (data: ${cfg.dataDir})`);
  },
};

export const dbStop: Command = {
  name: 'db stop',
  summary: 'Stop the embedded PostgreSQL',
  flags: {},
  async run() {
    const cfg = config();
    embeddedOnly(cfg, 'stop');
    out((await stopEmbedded(cfg)) ? 'embedded PostgreSQL stopped' : 'embedded PostgreSQL was not running');
  },
};

const migrateFlags = {
  'committed-only': {
    type: 'boolean',
    description: 'Apply only committed migrations, not migrations/current (the default when NODE_ENV=production)',
  },
} as const;

export const dbMigrate: Command = {
  name: 'db migrate',
  summary: 'Bring the database schema up to date (graphile-worker tables, then our migrations)',
  description:
    'Runs against DATABASE_URL when set (docker compose runs this once), else the running embedded database.',
  flags: migrateFlags,
  async run(p) {
    const cfg = config();
    const db = await runningDatabase(cfg);
    const includeCurrent = cfg.env !== 'production' && !p.flags['committed-only'];
    await migrateDatabase(db.ownerUrl, { includeCurrent });
    out(`database migrated${includeCurrent ? ' (committed + current)' : ' (committed only)'}`);
  },
};

export const dbReset: Command = {
  name: 'db reset',
  summary: 'Drop the embedded database and recreate it, migrated and empty (needs --yes)',
  flags: { yes: { type: 'boolean', description: 'Confirm: every video, scene and user in it is deleted', short: 'y' } },
  async run(p) {
    const cfg = config();
    embeddedOnly(cfg, 'reset');
    if (!p.flags.yes)
      throw new CliError(
        `this deletes every video, scene and user in ${cfg.dataDir}`,
        'run again with --yes to confirm',
      );
    const urls = await startEmbedded(cfg, log);
    const creds = readEmbeddedCredentials(cfg)!;
    const admin = urls.rootUrl.replace(/\/heimdex$/, '/postgres');
    const c = new pg.Client({ connectionString: admin });
    await c.connect();
    try {
      await c.query('drop database if exists heimdex with (force)');
    } finally {
      await c.end();
    }
    await ensureDatabase(admin, 'heimdex', creds);
    await migrateDatabase(urls.ownerUrl, { includeCurrent: cfg.env !== 'production' });
    out('database reset and migrated');
  },
};

export const dbPsql: Command = {
  name: 'db psql',
  summary: 'Open psql as the schema owner (arguments after -- go to psql)',
  args: '[-- psql args...]',
  flags: {},
  async run(p) {
    const cfg = config();
    const db = await runningDatabase(cfg);
    const r = spawnSync(pgBinary(cfg, 'psql'), [db.ownerUrl, ...p.rest, ...p.positionals], { stdio: 'inherit' });
    if (r.error) throw new CliError(`could not run psql: ${r.error.message}`, 'install the postgresql-client package');
    return r.status ?? 1;
  },
};

export const dbUrl: Command = {
  name: 'db url',
  summary: 'Print the owner connection string of the running database',
  flags: {
    auth: {
      type: 'boolean',
      description: "Print the API login role's (heimdex_authenticator) connection string instead",
    },
  },
  async run(p) {
    const cfg = config();
    if (usesEmbedded(cfg) && !(await isRunning(cfg))) {
      throw new CliError(`the embedded database in ${cfg.dataDir} is not running`, 'start it with: heimdex db start');
    }
    const db = await resolveDatabase(cfg);
    out(p.flags.auth ? db.authUrl : db.ownerUrl);
  },
};
