/*
 * The PostGraphile preset: amber over app_public only, default inflection
 * (allVideos, videoById), requests run as anon/authenticated with Supabase's
 * request.jwt.claims so the same RLS policies hold here and on Supabase.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { Request } from 'express';
import { isSafeError, type GrafastSubscriber } from 'grafast';
import crypto from 'node:crypto';
import { getOperationAST, GraphQLError, NoSchemaIntrospectionCustomRule } from 'graphql';
import { jsonPgSmartTags } from 'graphile-utils';
import { sql } from 'pg-sql2';
import type pg from 'pg';
import { PostGraphileAmberPreset } from 'postgraphile/presets/amber';
import { claimsOf, connectionToken, type AccessClaims } from './auth/index.ts';
import type { Config } from '../core/config.ts';
import { isConnectionError } from '../core/database.ts';
import { outageLog, type Logger } from '../core/log.ts';
import { makeRequestPgService } from './pg-service.ts';
import { ResilientSubscriber } from './plugins/listener.ts';
import { queryLimitsRule, skipWhenOverLimit } from './plugins/limits.ts';
import { makePersonsPlugin } from './plugins/persons.ts';
import { UpdateNotFoundPlugin } from './plugins/not-found.ts';
import { makeSceneUrlsPlugin } from './plugins/scene-urls.ts';
import { makeSearchPlugin, type QueryModels } from './plugins/search.ts';
import { VideoChangesPlugin, VideoEvents } from './plugins/subscriptions.ts';
import { StorageUnavailableError, type Storage } from '../core/storage/types.ts';

declare global {
  namespace Grafast {
    interface Context {
      jwtClaims: AccessClaims | null;
      heimdexVideoEvents: GrafastSubscriber<Record<string, string>> | null;
    }
  }
}

/**
 * Only what policies need goes into request.jwt.claims: a token's other
 * claims are client-controlled data that must not look like authority.
 * statement_timeout is set here, inside the request's own transaction,
 * because a per-role setting (`alter role authenticated set ...`) applies
 * only at login, never to a role switched to with SET ROLE, which is how
 * every request runs.
 */
export function pgSettingsFor(claims: AccessClaims | null, statementTimeoutMs: number): Record<string, string> {
  const timeout = { statement_timeout: `${statementTimeoutMs}ms` };
  if (!claims) return { role: 'anon', 'request.jwt.claims': JSON.stringify({ role: 'anon' }), ...timeout };
  return {
    // Fixed, not taken from the token: a user request is never service_role.
    role: 'authenticated',
    'request.jwt.claims': JSON.stringify({
      sub: claims.sub,
      role: 'authenticated',
      aud: claims.aud,
      email: claims.email ?? null,
      session_id: claims.session_id ?? null,
    }),
    ...timeout,
  };
}

/**
 * Smart tags in code rather than in SQL comments, so the GraphQL shape is
 * reviewed next to the rest of the API and migrations stay about data.
 */
export const SmartTagsPlugin = jsonPgSmartTags({
  version: 1,
  config: {
    class: {
      // The custom createVideo mutation (uploads plugin) checks the object
      // first; the generated one would insert blindly.
      videos: {
        tags: { behavior: ['-insert'] },
        attribute: {
          asr_model: { tags: { behavior: ['-*'] } },
          ocr_model: { tags: { behavior: ['-*'] } },
        },
      },
      scenes: {
        tags: { behavior: ['-insert', '-update', '-delete'] },
        attribute: {
          // No codec for vector, and no use to a client; tsv and tsv_stem are indexes.
          text_vec: { tags: { behavior: ['-*'] } },
          image_vec: { tags: { behavior: ['-*'] } },
          tsv: { tags: { behavior: ['-*'] } },
          tsv_stem: { tags: { behavior: ['-*'] } },
          stem_config: { tags: { behavior: ['-*'] } },
          // Its trigram index serves fuzzy word matches in search, not equality or ordering.
          ocr_text: { tags: { behavior: ['-filterBy', '-orderBy'] } },
          keyframe_key: { tags: { behavior: ['-*'] } },
        },
      },
      scene_hit: { tags: { behavior: ['-*'] } },
      // createPerson (plugins/persons.ts) embeds the photos first.
      persons: { tags: { behavior: ['-insert'] } },
      // Faces are written by the pipeline and by createPerson; users change
      // them only through assignFace.
      faces: {
        tags: { behavior: ['-insert', '-update', '-delete'] },
        attribute: { embedding: { tags: { behavior: ['-*'] } } },
      },
    },
    constraint: {
      // Exists only as the target of scenes' composite foreign key; as an
      // API it would add a second way to address a video by (id, ownerId).
      videos_id_owner_id_key: { tags: { behavior: ['-single', '-update', '-delete'] } },
      scenes_video_id_owner_id_fkey: { tags: { fieldName: 'video', foreignFieldName: 'scenes' } },
      scenes_id_owner_id_key: { tags: { behavior: ['-single', '-update', '-delete'] } },
      persons_id_owner_id_key: { tags: { behavior: ['-single', '-update', '-delete'] } },
      faces_person_id_owner_id_fkey: { tags: { fieldName: 'person', foreignFieldName: 'faces' } },
      faces_scene_id_owner_id_fkey: { tags: { fieldName: 'scene', foreignFieldName: 'faces' } },
      faces_video_id_owner_id_fkey: { tags: { fieldName: 'video', foreignFieldName: 'faces' } },
    },
    procedure: {
      // Query.searchScenes (plugins/search.ts) embeds the query and calls it.
      search_scenes: { tags: { behavior: ['-*'] } },
    },
  },
});

/**
 * pgvector's type has no PostGraphile codec; without one every start prints
 * a large warning. Vectors never cross the API (the columns are hidden and
 * search takes real[]), so an opaque text codec is all that is needed.
 */
export const VectorCodecPlugin: GraphileConfig.Plugin = {
  name: 'HeimdexVectorCodecPlugin',
  version: '0.0.0',
  gather: {
    hooks: {
      async pgCodecs_findPgCodec(_info, event) {
        if (event.pgCodec || event.pgType.typname !== 'vector') return;
        const ns = event.pgType.getNamespace()?.nspname ?? 'public';
        event.pgCodec = {
          name: 'vector',
          sqlType: sql.identifier(ns, 'vector'),
          fromPg: (v: string) => v,
          toPg: (v: string) => v,
          attributes: undefined,
          executor: null,
          extensions: { oid: event.pgType._id, pg: { serviceName: event.serviceName, schemaName: ns, name: 'vector' } },
        } as unknown as typeof event.pgCodec;
      },
    },
  },
  schema: {
    hooks: {
      init(_, build) {
        const codec = build.input.pgRegistry.pgCodecs.vector;
        if (codec) build.setGraphQLTypeForPgCodec(codec, ['output', 'input'], 'String');
        return _;
      },
    },
  },
};

/**
 * PostgreSQL errors a user can act on (permission denied, a violated check,
 * bad input, a function's own raise) are passed through with their SQLSTATE;
 * anything else is replaced by an id that is logged (through our JSON logs,
 * not grafserv's console output) with the real error.
 */
const USER_FACING_SQLSTATE = /^(42501|23...|22...|P0001|0A000)$/;
export function makeMaskError(log?: Logger, outage?: Outage) {
  return (error: GraphQLError): GraphQLError => maskError(error, log, outage);
}

type Outage = ReturnType<typeof outageLog>;
/**
 * Set by maskError while a request meets an outage (of the database or the
 * object store), so the answer becomes a 503 saying which.
 */
const requestOutage = new AsyncLocalStorage<{ message: string | null }>();
export const RETRY_AFTER_S = 5;
const UNAVAILABLE = 'The database is unavailable at the moment; retry shortly';
const STORE_UNAVAILABLE = 'The object store is unavailable at the moment; retry shortly';
/** SQLSTATE disk_full and out_of_memory (class 53; 53300, too many connections, is an outage above). */
const DATABASE_SHORT_OF: Record<string, string> = {
  '53100': 'The database has no room to write at the moment (its disk is full); retry later',
  '53200': 'The database is out of memory at the moment; retry shortly',
};

/** The request met an outage: this error, and a 503 saying `message` for the whole request (processRequest). */
function unavailable(error: GraphQLError, message: string): GraphQLError {
  const store = requestOutage.getStore();
  if (store) store.message = message;
  return new GraphQLError(message, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { code: 'SERVICE_UNAVAILABLE' },
  });
}

export function maskError(error: GraphQLError, log?: Logger, outage?: Outage): GraphQLError {
  const code = (error.originalError as { code?: unknown } | undefined)?.code;
  // Checked first: the store's refused socket must not read as the database's.
  if (error.originalError instanceof StorageUnavailableError) {
    log?.warn(`${error.path?.join('.') ?? 'request'}: ${error.originalError.message}; answered 503`);
    return unavailable(error, STORE_UNAVAILABLE);
  }
  // An outage is one fact, not a stack trace per request: the outage log
  // writes one line, and the request is answered 503 (processRequest below).
  if (error.originalError && isConnectionError(error.originalError)) {
    outage?.down(error.originalError);
    return unavailable(error, UNAVAILABLE);
  }
  // The database is up but short of disk or memory: an operator must act,
  // and the client should retry later, not read "internal error".
  if (typeof code === 'string' && code in DATABASE_SHORT_OF) {
    log?.error(`database short of resources (${code}): ${error.originalError!.message}; answered 503`);
    return unavailable(error, DATABASE_SHORT_OF[code]!);
  }
  if (typeof code === 'string' && USER_FACING_SQLSTATE.test(code)) {
    return new GraphQLError(error.originalError!.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code },
    });
  }
  // statement_timeout (pgSettingsFor): the request was too expensive, not broken.
  if (code === '57014') {
    return new GraphQLError('The request took too long and was cancelled; narrow the search or ask for less', {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code: 'TIMEOUT' },
    });
  }
  // PostGraphile's own "nothing matched" for update/delete: what RLS hiding a
  // row looks like, and no internal detail.
  if (error.originalError && /^No values were (updated|deleted) in collection/.test(error.originalError.message)) {
    return new GraphQLError(error.originalError.message, {
      nodes: error.nodes,
      source: error.source,
      positions: error.positions,
      path: error.path,
      extensions: { code: 'NOT_FOUND' },
    });
  }
  // Validation errors, GraphQLErrors thrown by plugins, and SafeErrors are
  // meant for the client as they are.
  const original = error.originalError;
  if (!original || original instanceof GraphQLError || isSafeError(original)) {
    if (original && isSafeError(original) && !(original instanceof GraphQLError)) {
      return new GraphQLError(original.message, {
        nodes: error.nodes,
        source: error.source,
        positions: error.positions,
        path: error.path,
        extensions: original.extensions ?? undefined,
      });
    }
    return error;
  }
  const errorId = crypto.randomBytes(6).toString('base64url');
  log?.error('graphql error', { errorId, path: error.path?.join('.'), err: original });
  return new GraphQLError(`An internal error occurred (id: ${errorId})`, {
    nodes: error.nodes,
    source: error.source,
    positions: error.positions,
    path: error.path,
    extensions: { code: 'INTERNAL_SERVER_ERROR', errorId },
  });
}

/**
 * With Relay node ids off, the id columns keep their name: Video.id and
 * Scene.id are the UUIDs the rest of the system (URLs, the worker, the CLI)
 * uses, instead of PostGraphile's default rename to rowId.
 */
export const UuidIdsPlugin: GraphileConfig.Plugin = {
  name: 'HeimdexUuidIdsPlugin',
  version: '0.0.0',
  after: ['PgAttributesPlugin'],
  inflection: {
    replace: {
      _attributeName(previous, _options, details) {
        const name = previous!(details);
        if (details.skipRowId || name !== 'row_id') return name;
        const attribute = details.codec.attributes[details.attributeName];
        return this.coerceToGraphQLName(attribute.extensions?.tags?.name || details.attributeName);
      },
    },
  },
};

/** The API says allPersons (the contract), not the inflector's allPeople. */
export const PersonsNamingPlugin: GraphileConfig.Plugin = {
  name: 'HeimdexPersonsNamingPlugin',
  version: '0.0.0',
  after: ['PgAllRowsPlugin'],
  inflection: {
    replace: {
      _allRows(previous, _options, resource) {
        return resource.name === 'persons' ? 'allPersons' : previous!(resource);
      },
    },
  },
};

export interface PresetDeps {
  config: Config;
  /** heimdex_authenticator pool: no ownership, no BYPASSRLS. */
  authPool: pg.Pool;
  storage: Storage | null;
  models: QueryModels | null;
  log?: Logger;
  /** Shared with the rest of the server so one outage is logged once. */
  outage?: Outage;
}

/**
 * What changed on a videos channel while the listener was away, read under
 * the channel owner's row-level security (the channel name was derived from
 * that owner's verified token when the subscription started).
 */
async function videoChangesSince(pool: pg.Pool, channel: string, since: Date): Promise<string[]> {
  const owner = /^heimdex:videos:([0-9a-f-]{36})$/.exec(channel)?.[1];
  if (!owner) return [];
  const client = await pool.connect();
  try {
    await client.query('begin');
    await client.query(`select set_config('role', 'authenticated', true), set_config('request.jwt.claims', $1, true)`, [
      JSON.stringify({ sub: owner, role: 'authenticated' }),
    ]);
    // A margin for clock differences between this server and the database.
    const { rows } = await client.query<{ payload: string }>(
      `select json_build_object('id', id, 'state', state, 'stage', stage, 'progress', progress, 'error', error,
                                'event', 'update')::text as payload
         from app_public.videos where updated_at >= $1::timestamptz - interval '30 seconds' order by updated_at`,
      [since.toISOString()],
    );
    await client.query('commit');
    return rows.map((r) => r.payload);
  } finally {
    client.release();
  }
}

export function makePreset(deps: PresetDeps) {
  const { config } = deps;
  const production = config.env === 'production';
  const outage =
    deps.outage ??
    outageLog(
      (m) => deps.log?.warn(m),
      (m) => deps.log?.info(m),
    );
  const subscriber = new ResilientSubscriber({
    pool: deps.authPool,
    onDown: (e) => outage.down(e),
    catchUp: (channel, since) => videoChangesSince(deps.authPool, channel, since),
  });
  const videoEvents = new VideoEvents(subscriber);
  const verifyWs = { fn: null as null | ((token: string) => Promise<AccessClaims>) };

  const preset: GraphileConfig.Preset = {
    extends: [PostGraphileAmberPreset],
    // Rows are addressed by their UUIDs (id, videoById); Relay global ids
    // would rename every id column to rowId and add a second identity.
    disablePlugins: ['NodePlugin'],
    plugins: [
      VectorCodecPlugin,
      UuidIdsPlugin,
      PersonsNamingPlugin,
      SmartTagsPlugin,
      makeSearchPlugin({
        models: deps.models,
        storage: deps.storage,
        urlTtlS: config.storage.urlTtlS,
        onEmbedError: (model, err) => deps.log?.warn('query embedding failed; searching without it', { model, err }),
      }),
      makeSceneUrlsPlugin({ storage: deps.storage, urlTtlS: config.storage.urlTtlS }),
      makePersonsPlugin({ storage: deps.storage, config, models: deps.models }),
      VideoChangesPlugin,
      UpdateNotFoundPlugin,
      {
        name: 'HeimdexValidationRulesPlugin',
        version: '0.0.0',
        grafserv: {
          middleware: {
            setPreset(next, event) {
              // The limits go first and the standard rules skip what they refuse.
              const standard = event.validationRules.splice(0).map(skipWhenOverLimit);
              event.validationRules.push(
                queryLimitsRule(config.graphqlMaxDepth, config.graphqlMaxCost, config.graphqlMaxSearches),
                ...standard,
              );
              if (production) event.validationRules.push(NoSchemaIntrospectionCustomRule);
              return next();
            },
            // A request that met an outage of the database or the object
            // store is answered 503 with Retry-After, so clients and proxies
            // retry instead of showing an error that looks like the request's fault.
            async processRequest(next) {
              const store: { message: string | null } = { message: null };
              const result = await requestOutage.run(store, () => next());
              if (!store.message || !result) return result;
              return {
                type: 'buffer',
                statusCode: 503,
                headers: {
                  'content-type': 'application/json; charset=utf-8',
                  'retry-after': String(RETRY_AFTER_S),
                  'cache-control': 'no-store',
                },
                buffer: Buffer.from(
                  JSON.stringify({ errors: [{ message: store.message, extensions: { code: 'SERVICE_UNAVAILABLE' } }] }),
                ),
              };
            },
          },
        },
      },
    ],
    pgServices: [
      // The stock node-postgres service, opening each request's transaction
      // with its settings in one round trip (pg-service.ts).
      makeRequestPgService({
        pool: deps.authPool,
        schemas: ['app_public'],
        // Our own subscriber (below) is shared with the filtering wrapper.
        pubsub: false,
      }),
    ],
    grafserv: {
      graphqlPath: '/graphql',
      websockets: true,
      graphiql: config.env === 'development',
      graphiqlOnGraphQLGET: false,
      graphiqlPath: '/graphiql',
      maxRequestLength: 256 * 1024,
      maskError: makeMaskError(deps.log, outage),
    },
    grafast: {
      // Plans and SQL describe the schema and cost several times the answer:
      // never sent unless an operator turns debugging on explicitly.
      explain: config.graphqlExplain,
      async context(requestContext, args) {
        let claims: AccessClaims | null = null;
        const req = (requestContext as { expressv4?: { req: Request } }).expressv4?.req;
        if (req) {
          claims = claimsOf(req);
        } else if (requestContext.ws) {
          // Websocket requests were authenticated at connection_init (app.ts);
          // the token is re-verified here so an expired one cannot subscribe.
          const token = connectionToken(requestContext.ws.normalizedConnectionParams?.authorization);
          if (token && verifyWs.fn) claims = await verifyWs.fn(token);
        }
        const pgSettings = pgSettingsFor(claims, config.graphqlStatementTimeoutMs);
        // Queries and subscriptions cannot write, whatever function they
        // reach, and their answer need not wait for the commit (pg-service.ts).
        if (getOperationAST(args.document, args.operationName)?.operation !== 'mutation')
          pgSettings.transaction_read_only = 'on';
        return {
          pgSettings,
          jwtClaims: claims,
          heimdexVideoEvents: videoEvents,
        };
      },
    },
  };
  return {
    preset,
    setVerifier(fn: (token: string) => Promise<AccessClaims>) {
      verifyWs.fn = fn;
    },
    release() {
      subscriber.release();
    },
  };
}
