/* Models, reindexing and the configuration table. */
import fs from 'node:fs';
import { README, renderConfigTable, withConfigTable } from '../config-table.ts';
import { config, importProject, info, out, progressBar, selfCommand, type Command } from '../command.ts';
import type { ModelsModule, ReindexModule } from '../contracts.ts';
import { runningDatabase } from '../database.ts';

function mb(bytes: number) {
  if (!bytes) return '';
  return bytes < 1024 ** 2 ? `${Math.ceil(bytes / 1024)} KB` : `${(bytes / 1024 ** 2).toFixed(0)} MB`;
}

export const modelsStatus: Command = {
  name: 'models status',
  summary: 'Show which models are present in MODELS_DIR',
  flags: { json: { type: 'boolean', description: 'Print the status as JSON' } },
  async run(p) {
    const cfg = config();
    const { getModels } = await importProject<ModelsModule>('worker/ml/index.ts');
    const status = await getModels(cfg).status();
    if (p.flags.json) {
      out(JSON.stringify(status, null, 2));
      return 0;
    }
    out(`models in ${cfg.models.dir}:`);
    for (const s of status) {
      out(
        `  ${s.present ? 'present' : 'missing'}  ${s.role.padEnd(11)} ${s.id.padEnd(52)} ${s.dim ? `${s.dim}-d` : ''} ${mb(s.bytes)}${s.standIn ? `  STAND-IN (${s.standIn}: random weights)` : ''}`.trimEnd(),
      );
    }
    if (status.some((s) => s.standIn))
      info(
        'STAND-IN models are generated graphs with random weights (models/README.md): fine for tests and cost measurements, meaningless for search',
      );
    if (status.some((s) => !s.present))
      info(`missing models are skipped (their search modality is off); fetch them with: ${selfCommand()} models pull`);
    return 0;
  },
};

export const modelsPull: Command = {
  name: 'models pull',
  summary: 'Download the production models of models/manifest.json into MODELS_DIR',
  description: 'The only command that contacts a model hub; everything else runs offline.',
  flags: {},
  async run() {
    const cfg = config();
    const mod = await importProject<ModelsModule>('worker/ml/index.ts');
    let lastLine = '';
    const results = await mod.pullModels(cfg, {
      onProgress: (pr) => {
        const pct = pr.total
          ? ` ${progressBar(pr.loaded / pr.total)} ${String(Math.floor((100 * pr.loaded) / pr.total)).padStart(3)}%`
          : '';
        const line = `${pr.id}/${pr.file}${pr.done ? ' done' : pct}`;
        if (line === lastLine) return;
        if (process.stderr.isTTY) process.stderr.write(`\r\x1b[2K${line}${pr.done ? '\n' : ''}`);
        else if (pr.done) info(line);
        lastLine = line;
      },
    });
    for (const r of results)
      out(
        `  pulled  ${r.role.padEnd(11)} ${r.id} → ${r.dir} (${r.downloaded.length} new file${r.downloaded.length === 1 ? '' : 's'}` +
          `${r.unavailable.length ? `; not on the hub, optional: ${r.unavailable.join(', ')}` : ''})`,
      );
    const status = await mod.getModels(cfg).status();
    for (const s of status) out(`  ${s.present ? 'present' : 'missing'}  ${s.role.padEnd(11)} ${s.id}`);
    return status.every((s) => s.present) ? 0 : 1;
  },
};

export const reindex: Command = {
  name: 'reindex',
  summary: 'Queue videos for re-processing (after pulling or changing models)',
  flags: {
    missing: {
      type: 'boolean',
      description: 'Only videos with stages skipped for want of a model, or embedded with other models',
    },
  },
  async run(p) {
    const cfg = config();
    await runningDatabase(cfg);
    const { reindex: run } = await importProject<ReindexModule>('worker/reindex.ts');
    const r = await run(cfg, { missingOnly: Boolean(p.flags.missing) });
    const n = r.missing + r.stale;
    out(
      `queued ${n} video${n === 1 ? '' : 's'} for re-processing (${r.missing} with skipped stages, ${r.stale} embedded with other models); a running worker picks them up`,
    );
    out(`current models: text ${r.textModel ?? 'none'}, image ${r.imageModel ?? 'none'}`);
    return 0;
  },
};

export const configTable: Command = {
  name: 'config table',
  summary: 'Print the configuration table (every option, default and meaning) as Markdown',
  flags: { write: { type: 'boolean', description: 'Rewrite the table in README.md between its config markers' } },
  async run(p) {
    if (!p.flags.write) {
      out(renderConfigTable());
      return 0;
    }
    const before = fs.readFileSync(README, 'utf8');
    const after = withConfigTable(before);
    if (after !== before) fs.writeFileSync(README, after);
    out(after === before ? 'README.md configuration table is up to date' : 'README.md configuration table rewritten');
    return 0;
  },
};
