/*
 * The one configuration schema. Every process (server, worker, CLI) reads it
 * once through loadConfig(); the README's configuration table is checked
 * against OPTIONS by a test, so an option cannot exist undocumented.
 */
import path from 'node:path';
import { ALL_CONTENT_TYPES } from './media-types.ts';

type Kind = 'string' | 'int' | 'number' | 'bool' | 'url' | 'list';

export interface Option {
  env: string;
  kind: Kind;
  /** Default as the user would type it; undefined = unset unless given. */
  default?: string;
  choices?: string[];
  /** Why the option exists, shown in the README table. */
  doc: string;
}

export const ROOT_DIR = path.resolve(import.meta.dirname, '..');

export const OPTIONS = [
  {
    env: 'HEIMDEX_DATA_DIR',
    kind: 'string',
    default: '.data',
    doc: 'Folder for the embedded database, local objects, credentials and logs. Two instances with different folders (and ports) run side by side.',
  },
  {
    env: 'DATABASE_URL',
    kind: 'url',
    doc: 'Owner connection to an existing PostgreSQL with pgvector >= 0.8 (Supabase, docker, managed). Unset: the embedded cluster in the data folder is used.',
  },
  {
    env: 'AUTH_DATABASE_URL',
    kind: 'url',
    doc: 'Connection for GraphQL requests, as a role that owns nothing and has no BYPASSRLS (it switches to anon/authenticated per request). Unset with the embedded database: the generated heimdex_authenticator login.',
  },
  {
    env: 'WORKER_DATABASE_URL',
    kind: 'url',
    doc: 'Connection for workers, as heimdex_worker: reads videos, writes results only through the pipeline step functions, works the job queue. Workers parse untrusted media, so they must not hold the owner password. Unset with the embedded database: the generated heimdex_worker login; unset with DATABASE_URL: DATABASE_URL (no isolation).',
  },
  {
    env: 'AUTH_FUNCTIONS_DATABASE_URL',
    kind: 'url',
    doc: "Connection for the API server's local sign-up, sign-in and session checks, as heimdex_auth: it may only execute the app_private.auth_* functions (and read the migration list for /healthz). Unset with the embedded database: the generated heimdex_auth login; unset with DATABASE_URL: DATABASE_URL (no isolation).",
  },
  {
    env: 'HEIMDEX_DB_PORT',
    kind: 'int',
    default: '54329',
    doc: 'Port of the embedded PostgreSQL (loopback only); non-standard so it never collides with a system server.',
  },
  {
    env: 'HEIMDEX_PG_MAJOR',
    kind: 'int',
    default: '15',
    doc: 'PostgreSQL major version whose binaries (/usr/lib/postgresql/<major>/bin) run the embedded cluster, psql and pg_dump; 15 is what Debian 12 ships.',
  },
  {
    env: 'HEIMDEX_DB_SHARED_BUFFERS_MB',
    kind: 'int',
    default: '0',
    doc: "PostgreSQL's own cache (shared_buffers) in the embedded cluster; 0 = a quarter of this machine's memory, between 128 and 8192 MB (PostgreSQL's usual starting advice). Search reads its indexes from it rather than from the kernel's page cache, which virtual machines may reclaim when idle: with PostgreSQL's default of 128 MB, new searches at 100k scenes after five idle minutes measured 103-134 ms p50, against 67-87 with this cache read ahead at start (BENCHMARKS.md). Memory is taken as pages are used, not up front, unless the kernel has huge pages set aside for it (then PostgreSQL reserves them at start, and searches on fresh connections run about twice as fast; the cluster logs the sysctl that reserves them when there are too few). Applies when the cluster starts (heimdex db stop, then start).",
  },
  {
    env: 'HEIMDEX_HOST',
    kind: 'string',
    default: '127.0.0.1',
    doc: 'Interface the API server binds to. Use 0.0.0.0 in containers.',
  },
  {
    env: 'HEIMDEX_PORT',
    kind: 'int',
    default: '8787',
    doc: 'Port of the API server (GraphQL, /auth, uploads, previews).',
  },
  {
    env: 'HEIMDEX_PUBLIC_URL',
    kind: 'url',
    doc: 'Base URL clients use to reach the server; signed fs-driver URLs are built on it. Default: http://HEIMDEX_HOST:HEIMDEX_PORT.',
  },
  {
    env: 'NODE_ENV',
    kind: 'string',
    default: 'development',
    choices: ['development', 'production', 'test'],
    doc: 'production turns off Ruru/GraphiQL and introspection and hides internal error details.',
  },
  {
    env: 'LOG_LEVEL',
    kind: 'string',
    default: 'info',
    choices: ['debug', 'info', 'warn', 'error', 'silent'],
    doc: 'Threshold for the structured JSON logs on stdout.',
  },
  {
    env: 'TRUST_PROXY',
    kind: 'list',
    default: 'loopback',
    doc: 'Reverse proxies whose X-Forwarded-For is believed (addresses, subnets, or loopback/linklocal/uniquelocal); the client IP decides the per-IP rate limit. Empty: trust none.',
  },
  {
    env: 'CORS_ORIGINS',
    kind: 'list',
    default: '',
    doc: 'Comma-separated origins allowed to call the API from a browser; empty means same-origin only, * allows any.',
  },
  {
    env: 'GRAPHQL_MAX_DEPTH',
    kind: 'int',
    default: '12',
    doc: 'Deepest selection a GraphQL operation may have; stops nested-query denial of service.',
  },
  {
    env: 'GRAPHQL_MAX_COST',
    kind: 'int',
    default: '50000',
    doc: 'Upper bound on the estimated rows a GraphQL operation may request (list sizes multiplied along the path).',
  },
  {
    env: 'GRAPHQL_MAX_SEARCHES',
    kind: 'int',
    default: '4',
    doc: 'Most searchScenes fields (aliases included) one GraphQL operation may ask for: each one embeds a query and runs a full search, so one request could otherwise occupy the database for everyone.',
  },
  {
    env: 'GRAPHQL_STATEMENT_TIMEOUT_MS',
    kind: 'int',
    default: '5000',
    doc: "statement_timeout set inside every GraphQL request's transaction (as the role it runs as): a query that still runs after this is cancelled with a clear error instead of holding one of the pool's connections.",
  },
  {
    env: 'GRAPHQL_EXPLAIN',
    kind: 'bool',
    default: 'false',
    doc: 'Debugging only: attach query plans and SQL to GraphQL responses. They reveal the schema and cost several times the answer, so they never reach clients unless an operator asks.',
  },

  {
    env: 'AUTH_PROVIDER',
    kind: 'string',
    default: 'local',
    choices: ['local', 'supabase'],
    doc: 'local: users in this database, tokens signed here. supabase: sign-up/login through a Supabase project, tokens verified locally.',
  },
  {
    env: 'JWT_SECRET',
    kind: 'string',
    doc: 'HS256 secret for local tokens (>= 32 chars). Unset: generated once and kept in the data folder, never a built-in default.',
  },
  {
    env: 'JWT_AUDIENCE',
    kind: 'string',
    default: 'authenticated',
    doc: 'Required aud claim of access tokens (Supabase uses "authenticated").',
  },
  {
    env: 'ACCESS_TOKEN_TTL_S',
    kind: 'int',
    default: '900',
    doc: 'Lifetime of local access tokens in seconds (15 minutes).',
  },
  {
    env: 'REFRESH_TOKEN_TTL_S',
    kind: 'int',
    default: '604800',
    doc: 'Lifetime of local refresh tokens in seconds (7 days); each refresh rotates it.',
  },
  {
    env: 'REFRESH_TOKEN_REUSE_INTERVAL_S',
    kind: 'int',
    default: '10',
    doc: "Seconds after its rotation that a local refresh token may be used again, as Supabase Auth's GOTRUE_SECURITY_REFRESH_TOKEN_REUSE_INTERVAL: two tabs or requests refreshing at once both get a session instead of a sign-out. Later reuse revokes the session (a stolen token). 0: no grace.",
  },
  {
    env: 'AUTH_RATE_LIMIT',
    kind: 'int',
    default: '10',
    doc: 'Login/signup attempts allowed per account (email) within AUTH_RATE_WINDOW_S: bounds password guessing on one account.',
  },
  {
    env: 'AUTH_RATE_LIMIT_IP',
    kind: 'int',
    default: '60',
    doc: 'Login/signup attempts allowed per client IP within AUTH_RATE_WINDOW_S: bounds spraying across accounts, while an office behind one NAT can still sign in.',
  },
  { env: 'AUTH_RATE_WINDOW_S', kind: 'int', default: '60', doc: 'Window of the login/signup rate limit, in seconds.' },
  { env: 'SUPABASE_URL', kind: 'url', doc: 'Supabase project URL (supabase provider).' },
  {
    env: 'SUPABASE_ANON_KEY',
    kind: 'string',
    doc: 'Supabase anon (publishable) key used by supabase-js for sign-up/login.',
  },
  {
    env: 'SUPABASE_JWT_SECRET',
    kind: 'string',
    doc: 'Legacy HS256 JWT secret of the Supabase project; tokens signed with it are accepted.',
  },
  {
    env: 'SUPABASE_JWKS_URL',
    kind: 'url',
    doc: "JWKS of the project's asymmetric signing keys. Default: SUPABASE_URL/auth/v1/.well-known/jwks.json.",
  },

  {
    env: 'STORAGE_DRIVER',
    kind: 'string',
    default: 'fs',
    choices: ['fs', 's3'],
    doc: 'fs: objects under the data folder, served by this server with signed URLs. s3: MinIO, AWS S3 or any S3-compatible store.',
  },
  {
    env: 'STORAGE_SIGNING_SECRET',
    kind: 'string',
    doc: 'HMAC secret for fs-driver URLs. Unset: generated once and kept in the data folder.',
  },
  { env: 'S3_ENDPOINT', kind: 'url', doc: 'S3 endpoint, e.g. http://minio:9000 (s3 driver).' },
  {
    env: 'S3_PUBLIC_ENDPOINT',
    kind: 'url',
    doc: 'Endpoint clients use for presigned URLs when it differs from S3_ENDPOINT (e.g. the host name of MinIO outside docker).',
  },
  { env: 'S3_REGION', kind: 'string', default: 'us-east-1', doc: 'Region used to sign S3 requests.' },
  { env: 'S3_BUCKET', kind: 'string', default: 'heimdex', doc: 'Bucket for videos and keyframes; created if missing.' },
  { env: 'S3_ACCESS_KEY', kind: 'string', doc: 'S3 access key.' },
  { env: 'S3_SECRET_KEY', kind: 'string', doc: 'S3 secret key.' },
  {
    env: 'MAX_UPLOAD_BYTES',
    kind: 'int',
    default: String(2 * 1024 ** 3),
    doc: 'Largest accepted upload (2 GiB); enforced by the upload policy, not just announced.',
  },
  {
    env: 'ALLOWED_CONTENT_TYPES',
    kind: 'list',
    default: ALL_CONTENT_TYPES.join(','),
    doc: 'Content types accepted by createUpload (videos, sidecar subtitles, and photos to enrol a person from).',
  },
  { env: 'URL_TTL_S', kind: 'int', default: '900', doc: 'Lifetime of presigned upload, preview and thumbnail URLs.' },

  {
    env: 'MODELS_DIR',
    kind: 'string',
    default: 'models/cache',
    doc: 'Where model files live (heimdex models pull writes here).',
  },
  {
    env: 'HF_ENDPOINT',
    kind: 'url',
    default: 'https://huggingface.co',
    doc: 'Model hub that "heimdex models pull" downloads from; point it at a mirror or an internal proxy when huggingface.co is unreachable.',
  },
  {
    env: 'MODEL_ASR',
    kind: 'string',
    doc: 'Override the speech model id of the manifest (e.g. onnx-community/whisper-small).',
  },
  { env: 'MODEL_TEXT', kind: 'string', doc: 'Override the 1024-d text embedding model id.' },
  { env: 'MODEL_VISION', kind: 'string', doc: 'Override the 1152-d SigLIP model id (vision and text towers).' },
  {
    env: 'QUERY_MODELS_PRELOAD',
    kind: 'bool',
    default: 'true',
    doc: 'The API server loads the query encoders (the text and image-text models that embed search queries) when it starts and runs each once, in the background, so the first search after a start or a restart does not wait for them: 4.5-5.3 s against 0.9 s with production-shaped models on 2 cores (BENCHMARKS.md). The API process then holds their memory (~2 GB with the production models) from its start rather than from its first search. false: they load on the first search, or on /readyz.',
  },
  {
    env: 'FACES',
    kind: 'string',
    default: 'on',
    choices: ['on', 'off'],
    doc: 'off: never detect, embed or match faces (no faces stage, createPerson/addPersonPhotos refused), for operators who must not process biometric data. Faces already stored stay until their videos or persons are deleted.',
  },
  {
    env: 'WORKER_CONCURRENCY',
    kind: 'int',
    default: '1',
    doc: 'Jobs one worker process runs at once. Model inference already uses all ORT threads; raise it on big machines.',
  },
  {
    env: 'WORKER_MODEL_MEMORY_MB',
    kind: 'int',
    default: '2500',
    doc: "Memory a worker's large models (BGE-M3, the SigLIP towers) may hold at once, each estimated at twice its ONNX files (Whisper runs in a process of its own). Loading one past this releases those not in use, least recently used first, and they load again when needed; a video's speech phase also releases them, so the worker and its speech process never hold both. The default keeps the production text and image encoders together (estimated 2.0 GB; the worker peaked at 2.0 GB on the 20-minute screen recording). Below it they take turns, a reload per index chunk: at 1500 the same video peaked at 1.6-1.7 GB and spent ~10 s more loading (BENCHMARKS.md). 0 = keep every model loaded, also through speech (fastest where memory is plenty).",
  },
  {
    env: 'ORT_THREADS',
    kind: 'int',
    default: '0',
    doc: 'onnxruntime intra-op threads per session; 0 = number of cores.',
  },
  {
    env: 'FACE_THREADS',
    kind: 'int',
    default: '0',
    doc: "Worker threads that detect and embed faces, each with its own copy of the face networks (~0.4 GB once it has run), started as work waits for one; 0 = one per two cores, at most 4. On threads of their own a video's faces are found while the text and image encoders run, which hold the worker's own thread for seconds at a time; more threads find more at once on a machine with cores to spare.",
  },
  {
    env: 'ORT_SPINNING',
    kind: 'bool',
    default: 'false',
    doc: "Let onnxruntime's intra-op threads busy-wait for work between a model's parallel steps instead of sleeping. Off by default: ffmpeg, the speech process and the picture models share a worker's cores, and spinning threads took the CPU the others needed (a 10-minute talk indexed 15-25 % slower with it on 2 cores; BENCHMARKS.md). On may suit a machine with cores to spare for each model.",
  },
  {
    env: 'MAX_VIDEO_DURATION_S',
    kind: 'number',
    default: '14400',
    doc: 'Longest video accepted by validation (4 hours).',
  },
  { env: 'FFMPEG_TIMEOUT_S', kind: 'int', default: '1800', doc: 'Wall-clock limit of one ffmpeg/ffprobe run.' },
  {
    env: 'FFMPEG_THREADS',
    kind: 'int',
    default: '0',
    doc: "Decoder threads of the pass that reads every frame of a video (cuts, content changes); 0 = a share of the cores: cores / (2 × WORKER_CONCURRENCY), between 1 and 16 (libavcodec's own cap), since speech and the models run beside it. ffmpeg's frame threads cost more than they give on small machines: on 2 cores one thread decoded the 10-minute talk's cut pass in 11 CPU-s and 11 s against 22 CPU-s and 16 s with ffmpeg's default (BENCHMARKS.md). Raise it on a big machine indexing one large video at a time.",
  },
  {
    env: 'FFMPEG_MAX_MEMORY_MB',
    kind: 'int',
    default: '4096',
    doc: 'Address-space cap of one ffmpeg/ffprobe run (0 = none), so a hostile or huge file fails instead of exhausting the machine.',
  },
  {
    env: 'SCENE_THRESHOLD',
    kind: 'number',
    default: '0.3',
    doc: "ffmpeg scene-change score above which a hard cut is detected (0..1); slides, new windows, fades and dissolves are found by the content-change detector (worker/media/changes.ts) regardless, also beside a picture that keeps moving in part of the frame (the speaker's camera in a meeting recording); a slide built up line by line stays one scene, read once complete.",
  },
  { env: 'SCENE_MIN_S', kind: 'number', default: '1.0', doc: 'Shortest scene; closer cuts are merged.' },
  {
    env: 'SCENE_MAX_S',
    kind: 'number',
    default: '30',
    doc: 'Longest scene; longer ones are split at their strongest internal change so a moment stays precise.',
  },
  {
    env: 'INDEX_CHUNK_S',
    kind: 'number',
    default: '300',
    doc: "Seconds of video one transcribe, index or playback-copy job handles (an index or copy job also takes a remainder under a quarter of this); a longer video is done in several such jobs (a chain for transcribing and indexing, parts any worker may take for a copy), each committed on its own, so no job nears graphile-worker's 4-hour lock and a crash redoes at most one chunk. 300 s keeps a job to a few minutes with the production models on 2 cores (BENCHMARKS.md); at least twice SCENE_MAX_S.",
  },
  {
    env: 'SCENE_TEXT_MAX_CHARS',
    kind: 'int',
    default: '20000',
    doc: "Most transcript (and on-screen) characters kept per scene; the rest is cut and the cut recorded on the video. Keeps every scene under PostgreSQL's 1 MB full-text limit and search rows small.",
  },
  {
    env: 'SIDECAR_MAX_BYTES',
    kind: 'int',
    default: '4194304',
    doc: 'Largest part of a subtitle sidecar that is read (4 MiB, days of dialogue); a bigger file is cut there and the cut recorded, never dropped silently or retried.',
  },
  {
    env: 'WORKER_DEAD_AFTER_S',
    kind: 'int',
    default: '30',
    doc: 'A worker whose heartbeat is older than this is presumed dead and a live worker returns its jobs to the queue (graphile-worker would otherwise wait 4 hours); heartbeats run every third of it, so that takes at most 4/3 of it. A worker on the same machine does not wait: it returns the jobs of a worker process that no longer exists at its next heartbeat, or at once when it starts.',
  },
  {
    env: 'ORPHAN_GRACE_S',
    kind: 'int',
    default: '86400',
    doc: 'Objects no video refers to (uploads never registered, keyframes of failed attempts) are deleted once this old; long enough for any upload or job still using them.',
  },
] as const satisfies readonly Option[];

type Env = (typeof OPTIONS)[number]['env'];

export class ConfigError extends Error {}

function parse(o: Option, raw: string): string | number | boolean | string[] {
  switch (o.kind) {
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new ConfigError(`${o.env} must be an integer, got "${raw}"`);
      return Number.parseInt(raw, 10);
    }
    case 'number': {
      const n = Number(raw);
      if (!Number.isFinite(n)) throw new ConfigError(`${o.env} must be a number, got "${raw}"`);
      return n;
    }
    case 'bool': {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off', ''].includes(v)) return false;
      throw new ConfigError(`${o.env} must be true or false, got "${raw}"`);
    }
    case 'url': {
      try {
        new URL(raw);
      } catch {
        throw new ConfigError(`${o.env} must be a URL, got "${raw}"`);
      }
      return raw;
    }
    case 'list':
      return raw
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
    default:
      if (o.choices && !o.choices.includes(raw)) {
        throw new ConfigError(`${o.env} must be one of ${o.choices.join(', ')}, got "${raw}"`);
      }
      return raw;
  }
}

function raw(env: NodeJS.ProcessEnv): Record<Env, string | number | boolean | string[] | undefined> {
  const out = {} as Record<Env, string | number | boolean | string[] | undefined>;
  for (const o of OPTIONS as readonly Option[]) {
    const v = env[o.env] ?? o.default;
    out[o.env as Env] = v === undefined ? undefined : parse(o, v);
  }
  return out;
}

export type Config = ReturnType<typeof loadConfig>;

/** Reads and validates the environment; throws ConfigError with every problem at once. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env) {
  const problems: string[] = [];
  const r = raw(env);
  const s = (k: Env) => r[k] as string | undefined;
  const n = (k: Env) => r[k] as number;
  const dataDir = path.resolve(ROOT_DIR, s('HEIMDEX_DATA_DIR')!);
  const host = s('HEIMDEX_HOST')!;
  const port = n('HEIMDEX_PORT');
  const authProvider = s('AUTH_PROVIDER') as 'local' | 'supabase';
  const storageDriver = s('STORAGE_DRIVER') as 'fs' | 's3';
  if (authProvider === 'supabase') {
    if (!s('SUPABASE_URL')) problems.push('AUTH_PROVIDER=supabase needs SUPABASE_URL');
    if (!s('SUPABASE_ANON_KEY')) problems.push('AUTH_PROVIDER=supabase needs SUPABASE_ANON_KEY');
  }
  const jwtSecret = s('JWT_SECRET');
  if (jwtSecret !== undefined && jwtSecret.length < 32) problems.push('JWT_SECRET must be at least 32 characters');
  if (storageDriver === 's3') {
    for (const k of ['S3_ENDPOINT', 'S3_ACCESS_KEY', 'S3_SECRET_KEY'] as const) {
      if (!s(k)) problems.push(`STORAGE_DRIVER=s3 needs ${k}`);
    }
  }
  if (n('WORKER_DEAD_AFTER_S') < 3)
    problems.push('WORKER_DEAD_AFTER_S must be at least 3 (heartbeats run every third of it)');
  // An index chunk ends at its last cut and hands the scene it was in to the
  // next chunk, so a window must hold more than one longest scene.
  if (!(n('INDEX_CHUNK_S') >= 2 * n('SCENE_MAX_S'))) problems.push('INDEX_CHUNK_S must be at least twice SCENE_MAX_S');
  const sharedBuffers = n('HEIMDEX_DB_SHARED_BUFFERS_MB');
  if (sharedBuffers !== 0 && !(sharedBuffers >= 16))
    problems.push('HEIMDEX_DB_SHARED_BUFFERS_MB must be 0 (automatic) or at least 16');
  if (n('FFMPEG_THREADS') < 0) problems.push('FFMPEG_THREADS must be 0 (automatic) or more');
  if (n('WORKER_MODEL_MEMORY_MB') < 0) problems.push('WORKER_MODEL_MEMORY_MB must be 0 (no limit) or more');
  for (const k of ['SCENE_TEXT_MAX_CHARS', 'SIDECAR_MAX_BYTES'] as const) {
    if (n(k) < 1) problems.push(`${k} must be at least 1`);
  }
  for (const k of ['HEIMDEX_PORT', 'HEIMDEX_DB_PORT'] as const) {
    if (n(k) < 0 || n(k) > 65535) problems.push(`${k} must be a port number (0-65535)`);
  }
  if (problems.length) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  const supabaseUrl = s('SUPABASE_URL')?.replace(/\/$/, '');
  return {
    dataDir,
    databaseUrl: s('DATABASE_URL'),
    authDatabaseUrl: s('AUTH_DATABASE_URL'),
    workerDatabaseUrl: s('WORKER_DATABASE_URL'),
    authFunctionsDatabaseUrl: s('AUTH_FUNCTIONS_DATABASE_URL'),
    dbPort: n('HEIMDEX_DB_PORT'),
    pgMajor: n('HEIMDEX_PG_MAJOR'),
    dbSharedBuffersMb: n('HEIMDEX_DB_SHARED_BUFFERS_MB'),
    host,
    port,
    publicUrl: (s('HEIMDEX_PUBLIC_URL') ?? `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`).replace(
      /\/$/,
      '',
    ),
    env: s('NODE_ENV') as 'development' | 'production' | 'test',
    logLevel: s('LOG_LEVEL') as 'debug' | 'info' | 'warn' | 'error' | 'silent',
    corsOrigins: r.CORS_ORIGINS as string[],
    trustProxy: r.TRUST_PROXY as string[],
    graphqlMaxDepth: n('GRAPHQL_MAX_DEPTH'),
    graphqlMaxCost: n('GRAPHQL_MAX_COST'),
    graphqlMaxSearches: n('GRAPHQL_MAX_SEARCHES'),
    graphqlStatementTimeoutMs: n('GRAPHQL_STATEMENT_TIMEOUT_MS'),
    graphqlExplain: r.GRAPHQL_EXPLAIN as boolean,
    auth: {
      provider: authProvider,
      jwtSecret,
      audience: s('JWT_AUDIENCE')!,
      accessTtlS: n('ACCESS_TOKEN_TTL_S'),
      refreshTtlS: n('REFRESH_TOKEN_TTL_S'),
      refreshReuseS: n('REFRESH_TOKEN_REUSE_INTERVAL_S'),
      rateLimit: n('AUTH_RATE_LIMIT'),
      rateLimitIp: n('AUTH_RATE_LIMIT_IP'),
      rateWindowS: n('AUTH_RATE_WINDOW_S'),
      supabaseUrl,
      supabaseAnonKey: s('SUPABASE_ANON_KEY'),
      supabaseJwtSecret: s('SUPABASE_JWT_SECRET'),
      supabaseJwksUrl:
        s('SUPABASE_JWKS_URL') ?? (supabaseUrl ? `${supabaseUrl}/auth/v1/.well-known/jwks.json` : undefined),
    },
    storage: {
      driver: storageDriver,
      signingSecret: s('STORAGE_SIGNING_SECRET'),
      s3: {
        endpoint: s('S3_ENDPOINT'),
        publicEndpoint: s('S3_PUBLIC_ENDPOINT'),
        region: s('S3_REGION')!,
        bucket: s('S3_BUCKET')!,
        accessKey: s('S3_ACCESS_KEY'),
        secretKey: s('S3_SECRET_KEY'),
      },
      maxUploadBytes: n('MAX_UPLOAD_BYTES'),
      allowedContentTypes: r.ALLOWED_CONTENT_TYPES as string[],
      urlTtlS: n('URL_TTL_S'),
    },
    models: {
      dir: path.resolve(ROOT_DIR, s('MODELS_DIR')!),
      hubUrl: s('HF_ENDPOINT')!.replace(/\/$/, ''),
      overrides: { asr: s('MODEL_ASR'), text: s('MODEL_TEXT'), vision: s('MODEL_VISION') },
      ortThreads: n('ORT_THREADS'),
      ortSpinning: r.ORT_SPINNING as boolean,
      preloadQuery: r.QUERY_MODELS_PRELOAD as boolean,
      faces: s('FACES') === 'on',
      faceThreads: n('FACE_THREADS'),
    },
    worker: {
      concurrency: n('WORKER_CONCURRENCY'),
      modelMemoryMb: n('WORKER_MODEL_MEMORY_MB'),
      maxDurationS: n('MAX_VIDEO_DURATION_S'),
      ffmpegTimeoutS: n('FFMPEG_TIMEOUT_S'),
      ffmpegMaxMemoryMb: n('FFMPEG_MAX_MEMORY_MB'),
      ffmpegThreads: n('FFMPEG_THREADS'),
      sceneThreshold: n('SCENE_THRESHOLD'),
      sceneMinS: n('SCENE_MIN_S'),
      sceneMaxS: n('SCENE_MAX_S'),
      chunkS: n('INDEX_CHUNK_S'),
      sceneTextMaxChars: n('SCENE_TEXT_MAX_CHARS'),
      sidecarMaxBytes: n('SIDECAR_MAX_BYTES'),
      deadAfterS: n('WORKER_DEAD_AFTER_S'),
      orphanGraceS: n('ORPHAN_GRACE_S'),
    },
  };
}
