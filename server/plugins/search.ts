/*
 * Query.searchScenes: embeds the query with the same encoders the worker
 * used for scenes (worker/ml), then calls app_public.search_scenes as the
 * requesting user, so row-level security decides what can be found. The raw
 * SQL function is hidden from the schema (smart tags); this field is the API.
 */
import { loadOneWithPgClient } from '@dataplan/pg';
import { access, lambda, object, SafeError, type Step } from 'grafast';
import { extendSchema, gql } from 'graphile-utils';
import type { Storage } from '../../core/storage/types.ts';
import type { FaceAnalyzer, ImageTextEmbedder, TextEmbedder } from '../../worker/ml/types.ts';
import { playedObject } from './scene-urls.ts';

/** What search needs of the model registry (worker/ml getModels). */
export interface QueryModels {
  textEmbedder(): Promise<TextEmbedder | null>;
  imageTextEmbedder(): Promise<ImageTextEmbedder | null>;
  /** Enrolment photos (plugins/persons.ts); absent = no face model. */
  faceAnalyzer?(): Promise<FaceAnalyzer | null>;
}

export interface SearchDeps {
  models: QueryModels | null;
  storage: Storage | null;
  urlTtlS: number;
  /** Distinct queries whose embeddings are kept (per encoder). */
  cacheSize?: number;
  /** Told when an encoder fails on a query; search then runs without it. */
  onEmbedError?: (modelId: string, err: unknown) => void;
}

// search_scenes caps page_size at 100 and one extra row is asked for to learn
// whether another page exists.
export const MAX_PAGE = 50;
const MAX_QUERY_CHARS = 1000;
/**
 * Full-text matching costs a word-statistics lookup per query word; past
 * this many words a query is a paragraph, not a search, and one request
 * could keep the database busy for seconds (RELIABILITY.md).
 */
export const MAX_QUERY_WORDS = 24;
/** A scope larger than this is "all my videos" in practice, and each id costs an index probe. */
export const MAX_VIDEO_IDS = 500;

/**
 * A query embedding as it is sent and cached: PostgreSQL's binary form of
 * real[] (array_recv's layout: dimensions, no nulls, float4's type oid, the
 * length and lower bound, then each number's length and big-endian bits),
 * made once per cached query. node-postgres sends a Buffer parameter in
 * binary, so PostgreSQL reads the 2,176 numbers of a hybrid query without
 * parsing text: a round trip with them took 0.51 ms p50 against 0.83 as
 * 27 KB of text cast to real[] (BENCHMARKS.md, "The API's own time"), and
 * every float32 arrives exactly as the encoder made it.
 */
export function realArrayBinary(vec: Float32Array): Buffer {
  const FLOAT4_OID = 700;
  if (vec.length === 0) {
    // Zero dimensions is how PostgreSQL writes an empty array.
    const empty = Buffer.alloc(12);
    empty.writeUInt32BE(FLOAT4_OID, 8);
    return empty;
  }
  const buf = Buffer.allocUnsafe(20 + vec.length * 8);
  buf.writeInt32BE(1, 0);
  buf.writeInt32BE(0, 4);
  buf.writeUInt32BE(FLOAT4_OID, 8);
  buf.writeInt32BE(vec.length, 12);
  buf.writeInt32BE(1, 16);
  for (let i = 0; i < vec.length; i++) {
    buf.writeInt32BE(4, 20 + i * 8);
    buf.writeFloatBE(vec[i]!, 24 + i * 8);
  }
  return buf;
}

/**
 * A small LRU of promises: a repeated query (paging, a refreshed page, many
 * users typing the same thing) does not run the model again, and concurrent
 * identical queries share one run.
 */
export class EmbeddingCache {
  private map = new Map<string, Promise<Buffer>>();
  private size: number;
  constructor(size: number) {
    this.size = size;
  }
  get(key: string, compute: () => Promise<Buffer>): Promise<Buffer> {
    const hit = this.map.get(key);
    if (hit) {
      this.map.delete(key);
      this.map.set(key, hit);
      return hit;
    }
    const p = compute();
    this.map.set(key, p);
    // A failed run must not be remembered: the next request should retry.
    p.catch(() => this.map.delete(key));
    if (this.map.size > this.size) this.map.delete(this.map.keys().next().value!);
    return p;
  }
}

/**
 * Loads the query encoders and runs each once, so that the first search
 * after the API starts waits for neither: with production-shaped models on
 * 2 cores it took 4.5-5.3 s against 0.8 s for any later new query (the
 * loads, then each session's first run; BENCHMARKS.md). A search that comes
 * meanwhile waits on the same loads. Never rejects: an encoder that fails
 * here is reported, and the next search that needs it loads it again (the
 * registry keeps no failed load), as without the warm-up.
 */
export async function warmQueryEncoders(
  models: QueryModels,
  report: {
    loaded(fields: Record<string, unknown>): void;
    failed(encoder: string, err: unknown): void;
  },
): Promise<void> {
  const started = Date.now();
  const warm = async (encoder: string, get: () => Promise<TextEmbedder | ImageTextEmbedder | null>) => {
    try {
      const enc = await get();
      if (!enc) return 'absent';
      await enc.embed(['warm up']);
      return enc.modelId;
    } catch (e) {
      report.failed(encoder, e);
      return 'failed';
    }
  };
  const [text, vision] = await Promise.all([
    warm('text', () => models.textEmbedder()),
    warm('vision', () => models.imageTextEmbedder()),
  ]);
  // Nothing to say where no query model is installed (full-text search only).
  if (text !== 'absent' || vision !== 'absent') report.loaded({ text, vision, ms: Date.now() - started });
}

export const encodeCursor = (offset: number) => Buffer.from(`offset:${offset}`).toString('base64url');
export function decodeCursor(cursor: string | null | undefined): number {
  if (cursor == null) return 0;
  const m = /^offset:(\d{1,7})$/.exec(Buffer.from(cursor, 'base64url').toString());
  if (!m) throw new SafeError('Invalid cursor: pass endCursor from a previous searchScenes result');
  return Number(m[1]);
}

interface SearchArgs {
  query: string;
  videoIds: string[] | null;
  personId: string | null;
  first: number | null;
  after: string | null;
}

interface QueryVectors {
  text: { model: string; param: Buffer } | null;
  image: { model: string; param: Buffer } | null;
  missing: string[];
}

const fmt = (n: number) => String(Number(n.toFixed(3)));

export function makeSearchPlugin(deps: SearchDeps) {
  const cache = new EmbeddingCache(deps.cacheSize ?? 500);

  async function embed(query: string): Promise<QueryVectors> {
    const missing: string[] = [];
    const [te, ite] = deps.models
      ? await Promise.all([deps.models.textEmbedder(), deps.models.imageTextEmbedder()])
      : [null, null];
    if (!te) missing.push('text');
    if (!ite) missing.push('vision');
    // One failing encoder (e.g. a query of only unknown tokens) costs that
    // modality, not the whole search.
    const run = async (enc: TextEmbedder | ImageTextEmbedder | null, modality: string) => {
      if (!enc) return null;
      try {
        return {
          model: enc.modelId,
          param: await cache.get(`${enc.modelId}\u0000${query}`, async () =>
            realArrayBinary((await enc.embed([query]))[0]!),
          ),
        };
      } catch (e) {
        deps.onEmbedError?.(enc.modelId, e);
        missing.push(modality);
        return null;
      }
    };
    const [text, image] = await Promise.all([run(te, 'text'), run(ite, 'vision')]);
    return { text, image, missing };
  }

  async function presign(key: string | null, contentType?: string | null): Promise<string | null> {
    if (!key || !deps.storage) return null;
    return deps.storage.presignGet(key, { ttlS: deps.urlTtlS, contentType: contentType ?? undefined });
  }

  return extendSchema((build) => {
    const { scenes, videos } = build.input.pgRegistry.pgResources;
    const executor = videos.executor;
    return {
      typeDefs: gql`
        """
        Per-modality similarity of a hit, each 0..1 (0 when the modality was not used).
        """
        type SceneHitComponents {
          text: Float!
          vision: Float!
          tags: Float!
        }

        """
        Someone seen in a hit's scene.
        """
        type SceneHitPerson {
          id: UUID!
          """
          null for an unnamed group of faces.
          """
          name: String
        }

        """
        One moment found by searchScenes.
        """
        type SceneHit {
          """
          Position in the whole result list, from 1.
          """
          rank: Int!
          sceneId: UUID!
          videoId: UUID!
          """
          Title of the video.
          """
          title: String!
          startS: Float!
          endS: Float!
          """
          Weighted score the hits are ordered by.
          """
          score: Float!
          components: SceneHitComponents!
          """
          Transcript or on-screen text around the match.
          """
          snippet: String
          """
          Short-lived video URL with a #t=start,end fragment, ready for a <video> element: the
          browser-playable copy once the video has one, else the upload.
          """
          previewUrl: String
          """
          Short-lived URL of the scene's keyframe JPEG.
          """
          thumbnailUrl: String
          """
          People seen in the scene (named first).
          """
          persons: [SceneHitPerson!]!
          scene: Scene
          video: Video
        }

        type SearchScenesResult {
          hits: [SceneHit!]!
          """
          Modalities that contributed: any of text, fulltext, vision, tags, and person when personId restricted the scenes.
          """
          modalities: [String!]!
          """
          Modalities skipped because their model is not installed.
          """
          missing: [String!]!
          hasNextPage: Boolean!
          endCursor: String
        }

        extend type Query {
          """
          Finds the moments in your videos that match what is said or shown. With personId,
          only scenes where that person appears; query may then be empty (all their scenes,
          in time order per video).
          """
          searchScenes(
            query: String!
            videoIds: [UUID!]
            personId: UUID
            first: Int = 20
            after: String
          ): SearchScenesResult!
        }
      `,
      objects: {
        Query: {
          plans: {
            searchScenes(_$root, fieldArgs) {
              const $args = object({
                query: fieldArgs.getRaw('query') as Step<string>,
                videoIds: fieldArgs.getRaw('videoIds') as Step<string[] | null>,
                personId: fieldArgs.getRaw('personId') as Step<string | null>,
                first: fieldArgs.getRaw('first') as Step<number | null>,
                after: fieldArgs.getRaw('after') as Step<string | null>,
              });
              const $vectors = lambda($args, (a: SearchArgs) => {
                const q = a.query.trim();
                // With a person, an empty query lists every scene they appear in.
                if (!q && a.personId) return { text: null, image: null, missing: [] } satisfies QueryVectors;
                if (!q) throw new SafeError('query must not be empty (unless personId is given)');
                if (q.length > MAX_QUERY_CHARS)
                  throw new SafeError(`query must be at most ${MAX_QUERY_CHARS} characters`);
                const words = q.split(/\s+/).length;
                if (words > MAX_QUERY_WORDS)
                  throw new SafeError(`query has ${words} words; at most ${MAX_QUERY_WORDS} are allowed`);
                if (a.videoIds && a.videoIds.length > MAX_VIDEO_IDS)
                  throw new SafeError(
                    `videoIds lists ${a.videoIds.length} videos; at most ${MAX_VIDEO_IDS} are allowed (leave it out to search all of yours)`,
                  );
                return embed(q);
              });
              return loadOneWithPgClient(executor, object({ args: $args, vectors: $vectors }), async (client, specs) =>
                Promise.all(
                  specs.map(async ({ args, vectors }) => {
                    const first = args.first ?? 20;
                    if (first < 1 || first > MAX_PAGE) throw new SafeError(`first must be between 1 and ${MAX_PAGE}`);
                    const offset = decodeCursor(args.after);
                    const { rows } = await client.query<{
                      scene_id: string;
                      video_id: string;
                      start_s: number;
                      end_s: number;
                      score: number;
                      text_score: number | null;
                      vision_score: number | null;
                      tags_score: number | null;
                      snippet: string | null;
                      persons: { id: string; name: string | null }[];
                      title: string;
                      keyframe_key: string | null;
                      object_key: string;
                      content_type: string | null;
                      playback_key: string | null;
                    }>({
                      // Prepared once per connection, as PostGraphile's own
                      // statements are: parsing and planning it every time cost
                      // ~0.6 ms a search (a 30-scene user's whole search is ~5 ms).
                      // Each hit's video and scene are read by key (offset 0
                      // keeps the lookups per hit): joined plainly, the planner
                      // took the function's 1,000-row estimate and hashed all of
                      // the caller's videos every search (BENCHMARKS.md).
                      name: 'heimdex_search_scenes',
                      text: `select h.*, v.title, s.keyframe_key, v.object_key, v.content_type, v.playback_key
                             from app_public.search_scenes(
                               query => $1, text_embedding => $2::real[], image_embedding => $3::real[],
                               video_ids => $4::uuid[], person_id => $5::uuid,
                               page_size => $6, page_offset => $7, text_model => $8, image_model => $9
                             ) with ordinality as h
                             cross join lateral (select v.title, v.object_key, v.content_type, v.playback_key
                                                   from app_public.videos v where v.id = h.video_id offset 0) v
                             cross join lateral (select s.keyframe_key
                                                   from app_public.scenes s where s.id = h.scene_id offset 0) s
                            order by h.ordinality`,
                      values: [
                        args.query.trim(),
                        vectors.text?.param ?? null,
                        vectors.image?.param ?? null,
                        args.videoIds,
                        args.personId,
                        first + 1,
                        offset,
                        vectors.text?.model ?? null,
                        vectors.image?.model ?? null,
                      ],
                    });
                    const page = rows.slice(0, first);
                    const hits = await Promise.all(
                      page.map(async (r, i) => {
                        const played = playedObject(r);
                        const [video, thumb] = await Promise.all([
                          presign(played.key, played.contentType),
                          presign(r.keyframe_key),
                        ]);
                        return {
                          rank: offset + i + 1,
                          sceneId: r.scene_id,
                          videoId: r.video_id,
                          title: r.title,
                          startS: r.start_s,
                          endS: r.end_s,
                          score: r.score,
                          components: { text: r.text_score ?? 0, vision: r.vision_score ?? 0, tags: r.tags_score ?? 0 },
                          snippet: r.snippet,
                          persons: r.persons ?? [],
                          previewUrl: video ? `${video}#t=${fmt(r.start_s)},${fmt(r.end_s)}` : null,
                          thumbnailUrl: thumb,
                        };
                      }),
                    );
                    // An empty query with a person ranks nothing: the person is the only criterion.
                    const modalities = args.query.trim() ? ['fulltext', 'tags'] : [];
                    if (vectors.text) modalities.unshift('text');
                    if (vectors.image) modalities.splice(modalities.indexOf('tags'), 0, 'vision');
                    if (args.personId) modalities.push('person');
                    return {
                      hits,
                      modalities,
                      missing: vectors.missing,
                      hasNextPage: rows.length > first,
                      endCursor: hits.length ? encodeCursor(offset + hits.length) : null,
                    };
                  }),
                ),
              );
            },
          },
        },
        SceneHit: {
          plans: {
            scene($hit: Step) {
              return scenes.get({ id: access($hit, 'sceneId') });
            },
            video($hit: Step) {
              return videos.get({ id: access($hit, 'videoId') });
            },
          },
        },
      },
    };
  }, 'HeimdexSearchPlugin');
}
