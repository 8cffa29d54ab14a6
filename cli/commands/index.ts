/* Every heimdex command, in the order `heimdex --help` lists them. */
import type { Command } from '../command.ts';
import { dbMigrate, dbPsql, dbReset, dbStart, dbStop, dbUrl } from './db.ts';
import { demo } from './demo.ts';
import { ingest } from './ingest.ts';
import { configTable, modelsPull, modelsStatus, reindex } from './misc.ts';
import { serve, start, worker } from './processes.ts';
import { personAdd, personList, personName } from './person.ts';
import { search } from './search.ts';
import { transcript } from './transcript.ts';
import { videos } from './videos.ts';

export const COMMANDS: Command[] = [
  start,
  serve,
  worker,
  dbStart,
  dbStop,
  dbMigrate,
  dbReset,
  dbPsql,
  dbUrl,
  ingest,
  videos,
  search,
  transcript,
  personAdd,
  personList,
  personName,
  demo,
  modelsPull,
  modelsStatus,
  reindex,
  configTable,
];
