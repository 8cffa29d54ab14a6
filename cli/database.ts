/* Database checks shared by the commands that need a running database. */
import { resolveDatabase, usesEmbedded, type DatabaseUrls } from '../core/database.ts';
import { isRunning } from '../core/embedded-pg.ts';
import type { Config } from '../core/config.ts';
import { CliError } from './errors.ts';

/** Connection strings of a database that is up, or a one-line error saying how to bring it up. */
export async function runningDatabase(cfg: Config): Promise<DatabaseUrls> {
  if (usesEmbedded(cfg) && !(await isRunning(cfg))) {
    throw new CliError(
      `the embedded database in ${cfg.dataDir} is not running`,
      'start everything with: npm start   (or only the database with: heimdex db start)',
    );
  }
  try {
    return await resolveDatabase(cfg);
  } catch (e) {
    throw new CliError((e as Error).message);
  }
}
