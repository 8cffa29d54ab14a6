/*
 * `heimdex videos`: your videos, newest first, with their state and ids, so
 * that `heimdex transcript` and `search --video` can be given one without
 * keeping the output of `ingest`.
 */
import { clock } from '../../core/clock.ts';
import { Api } from '../api.ts';
import { config, out, type Command } from '../command.ts';
import { displayWidth, padDisplay } from '../text-width.ts';

export interface VideoRow {
  videoId: string;
  title: string;
  state: string;
  durationS: number | null;
  scenes: number;
  createdAt: string;
  error: string | null;
}

interface VideoNode {
  id: string;
  title: string;
  state: string;
  durationS: number | null;
  createdAt: string;
  error: string | null;
  scenes: { totalCount: number };
}

const PAGE = `query ($after: Cursor) {
  allVideos(orderBy: [CREATED_AT_DESC, ID_DESC], first: 100, after: $after) {
    nodes { id title state durationS createdAt error scenes { totalCount } }
    pageInfo { hasNextPage endCursor }
  }
}`;

export async function listVideos(api: Api): Promise<VideoRow[]> {
  const rows: VideoRow[] = [];
  for (let after: string | null = null; ;) {
    const r: {
      allVideos: { nodes: VideoNode[]; pageInfo: { hasNextPage: boolean; endCursor: string | null } };
    } = await api.graphql(PAGE, { after });
    for (const v of r.allVideos.nodes)
      rows.push({
        videoId: v.id,
        title: v.title,
        state: v.state,
        durationS: v.durationS,
        scenes: v.scenes.totalCount,
        createdAt: v.createdAt,
        error: v.error,
      });
    if (!r.allVideos.pageInfo.hasNextPage) return rows;
    after = r.allVideos.pageInfo.endCursor;
  }
}

export const videos: Command = {
  name: 'videos',
  summary: 'List your videos, newest first: title, state, length, scenes and id',
  flags: {
    json: {
      type: 'boolean',
      description: 'Print [{"videoId", "title", "state", "durationS", "scenes", "createdAt", "error"}]',
    },
  },
  async run(p) {
    const rows = await listVideos(new Api(config()));
    if (p.flags.json) {
      out(JSON.stringify(rows, null, 2));
      return 0;
    }
    if (!rows.length) {
      out('no videos yet: heimdex ingest <file|dir>');
      return 0;
    }
    // Titles in Korean or Chinese take two terminal cells a character.
    const w = Math.max(5, ...rows.map((r) => displayWidth(r.title)));
    out(`${'title'.padEnd(w)}  ${'state'.padEnd(10)}  ${'length'.padStart(7)}  ${'scenes'.padStart(6)}  id`);
    for (const r of rows)
      out(
        `${padDisplay(r.title, w)}  ${r.state.padEnd(10)}  ${(r.durationS == null ? '' : clock(r.durationS)).padStart(7)}  ${String(r.scenes).padStart(6)}  ${r.videoId}${r.error ? `  (${r.error})` : ''}`,
      );
    return 0;
  },
};
