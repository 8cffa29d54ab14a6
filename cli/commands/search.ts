/* `heimdex search`: one GraphQL searchScenes call, printed as a ranked table or JSON. */
import { clock } from '../../core/clock.ts';
import { Api } from '../api.ts';
import { intFlag, UUID } from '../args.ts';
import { config, info, out, type Command } from '../command.ts';
import { CliError } from '../errors.ts';
import { displayWidth, padDisplay, truncateDisplay } from '../text-width.ts';
import { resolvePerson } from './person.ts';

export interface SceneHit {
  rank: number;
  sceneId: string;
  videoId: string;
  title: string;
  startS: number;
  endS: number;
  score: number;
  components: { text: number; vision: number; tags: number };
  snippet: string | null;
  previewUrl: string | null;
  thumbnailUrl: string | null;
  /** People seen in the scene; name null for an unnamed group. */
  persons: { id: string; name: string | null }[];
}

export interface SearchResult {
  hits: SceneHit[];
  modalities: string[];
  missing: string[];
  hasNextPage: boolean;
  endCursor: string | null;
}

export const SEARCH = `query ($query: String!, $videoIds: [UUID!], $personId: UUID, $first: Int) {
  searchScenes(query: $query, videoIds: $videoIds, personId: $personId, first: $first) {
    hits { rank sceneId videoId title startS endS score components { text vision tags } snippet previewUrl thumbnailUrl persons { id name } }
    modalities missing hasNextPage endCursor
  }
}`;

/**
 * The snippet as plain text: highlight tags out, the HTML escapes the API
 * adds turned back into characters, whitespace folded, at most `max`
 * terminal cells.
 */
export function plainSnippet(s: string | null, max = 60): string {
  const t = (s ?? '')
    .replace(/<\/?b>/gi, '')
    .replace(/&(lt|gt|quot|amp);/g, (_, e: string) => ({ lt: '<', gt: '>', quot: '"', amp: '&' })[e]!)
    .replace(/\s+/g, ' ')
    .trim();
  return truncateDisplay(t, max);
}

export function renderTable(hits: SceneHit[]): string {
  // A people column only when someone was seen, so face-less results read as before.
  const people = hits.some((h) => h.persons?.length);
  const names = (h: SceneHit) => (h.persons ?? []).map((p) => p.name ?? '(unnamed)').join(', ');
  const head = [
    '#',
    'video',
    'time',
    'score',
    'text',
    'vision',
    'tags',
    ...(people ? ['people'] : []),
    'snippet',
    'preview',
  ];
  const rows = hits.map((h) => [
    String(h.rank),
    truncateDisplay(h.title, 24),
    `${clock(h.startS)}–${clock(h.endS)}`,
    h.score.toFixed(3),
    h.components.text.toFixed(2),
    h.components.vision.toFixed(2),
    h.components.tags.toFixed(2),
    ...(people ? [names(h)] : []),
    plainSnippet(h.snippet),
    h.previewUrl ?? '',
  ]);
  const widths = head.map((c, i) => Math.max(c.length, ...rows.map((r) => displayWidth(r[i]!))));
  const line = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : padDisplay(c, widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(head), ...rows.map(line)].join('\n');
}

export async function searchScenes(
  api: Api,
  query: string,
  first: number,
  videoIds?: string[],
  personId?: string,
): Promise<SearchResult> {
  const r = await api.graphql<{ searchScenes: SearchResult }>(SEARCH, {
    query,
    first,
    videoIds: videoIds?.length ? videoIds : null,
    personId: personId ?? null,
  });
  return r.searchScenes;
}

export const search: Command = {
  name: 'search',
  summary: 'Find the moments in your videos that match a query',
  args: '["<query>"]',
  flags: {
    limit: { type: 'string', value: 'N', short: 'n', description: 'Number of hits (1-100, default 10)' },
    video: { type: 'string', value: 'ID', multiple: true, description: 'Only search this video (repeatable)' },
    person: {
      type: 'string',
      value: 'NAME|ID',
      description: 'Only scenes where this person appears (the query may then be left out)',
    },
    json: { type: 'boolean', description: 'Print the hits as a JSON array' },
  },
  async run(p) {
    const query = p.positionals.join(' ').trim();
    const person = p.flags.person as string | undefined;
    if (!query && !person)
      throw new CliError('no query given', 'usage: heimdex search "<words>" [--person "<name or id>"]');
    const limit = intFlag(p, 'limit', 10, 1, 100);
    const videos = (p.flags.video as string[] | undefined) ?? [];
    for (const v of videos) {
      if (!UUID.test(v)) throw new CliError(`--video must be a video id (UUID), got "${v}"`);
    }
    const api = new Api(config());
    const personId = person ? await resolvePerson(api, person) : undefined;
    const res = await searchScenes(api, query, limit, videos, personId);
    if (p.flags.json) {
      out(JSON.stringify(res.hits, null, 2));
      return 0;
    }
    if (!res.hits.length) out(query ? `no matches for "${query}"` : `no scenes with ${person}`);
    else out(renderTable(res.hits));
    info(
      `modalities: ${res.modalities.join(', ') || 'none'}${res.missing.length ? `; missing: ${res.missing.join(', ')}` : ''}`,
    );
    return 0;
  },
};
