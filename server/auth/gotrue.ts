/*
 * The part of Supabase Auth's (GoTrue's) HTTP API that supabase-js uses for
 * email + password, served under /auth/v1 by the local provider: signup,
 * token (password and refresh_token grants), logout and user. Request and
 * response shapes follow github.com/supabase/auth (internal/api/token.go,
 * signup.go, logout.go, user.go, errors.go), so a frontend written for
 * Supabase — including this project's web app — points at Heimdex unchanged.
 *
 * Like Supabase's gateway, every request must carry the project's public
 * `apikey` (here: the local anon key from /config.json).
 */
import express, { type NextFunction, type Request, type Response } from 'express';
import { bearerToken, credentials } from './input.ts';
import { AuthError, type AccessClaims, type AuthProvider, type LocalAuthExtras, type LocalUser } from './types.ts';

const API_VERSION_HEADER = 'x-supabase-api-version';
/** The first dated API version: errors become {code, message} instead of {code: status, error_code, msg}. */
const API_VERSION_2024 = '2024-01-01';

/** An error in GoTrue's vocabulary (apierrors/errorcode.go). */
class GoTrueError extends Error {
  status: number;
  code: string;
  extra?: Record<string, unknown>;
  retryAfterS?: number;
  constructor(status: number, code: string, message: string, extra?: Record<string, unknown>) {
    super(message);
    this.status = status;
    this.code = code;
    this.extra = extra;
  }
}

/** Our provider's errors, renamed to what GoTrue answers in the same situation. */
function fromAuthError(e: AuthError): GoTrueError {
  let g: GoTrueError;
  switch (e.code) {
    case 'invalid_credentials':
      g = new GoTrueError(400, 'invalid_credentials', 'Invalid login credentials');
      break;
    case 'user_already_exists':
      g = new GoTrueError(422, 'user_already_exists', 'User already registered');
      break;
    case 'invalid_refresh_token':
      g = new GoTrueError(400, 'refresh_token_not_found', 'Invalid Refresh Token: Refresh Token Not Found');
      break;
    case 'refresh_token_already_used':
      g = new GoTrueError(400, 'refresh_token_already_used', 'Invalid Refresh Token: Already Used');
      break;
    case 'session_ended':
      // A token of a session that was signed out or revoked by a refresh replay.
      g = new GoTrueError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
      break;
    case 'token_expired':
    case 'invalid_token':
      g = new GoTrueError(403, 'bad_jwt', `invalid JWT: ${e.message}`);
      break;
    default:
      g = new GoTrueError(e.status, e.code, e.message);
  }
  g.retryAfterS = e.retryAfterS;
  return g;
}

/** The user object GoTrue returns (models/user.go), for an email + password account. */
function userJson(u: { id: string; email: string; created_at?: Date; last_login_at?: Date | null }) {
  const created = (u.created_at ?? new Date()).toISOString();
  return {
    id: u.id,
    aud: 'authenticated',
    role: 'authenticated',
    email: u.email,
    // Local accounts need no confirmation email (GoTrue with autoconfirm on).
    email_confirmed_at: created,
    phone: '',
    confirmed_at: created,
    last_sign_in_at: u.last_login_at?.toISOString() ?? created,
    app_metadata: { provider: 'email', providers: ['email'] },
    user_metadata: {},
    identities: [],
    created_at: created,
    updated_at: (u.last_login_at ?? u.created_at ?? new Date()).toISOString(),
    is_anonymous: false,
  };
}

export interface GoTrueRouterOptions {
  provider: AuthProvider;
  local: LocalAuthExtras;
  /** The rate limit shared with /auth/login and /auth/signup. */
  limit(req: Request, email: string): void;
}

export function goTrueRouter({ provider, local, limit }: GoTrueRouterOptions): express.Router {
  const router = express.Router();

  // Supabase's gateway checks the apikey before anything reaches GoTrue, with these answers.
  router.use((req, res, next) => {
    const key = req.get('apikey') ?? (typeof req.query.apikey === 'string' ? req.query.apikey : undefined);
    if (!key) {
      return void res
        .status(401)
        .json({ message: 'No API key found in request', hint: 'No `apikey` request header or url param was found.' });
    }
    local.isApiKey(key).then((ok) => {
      if (ok) return next();
      res
        .status(401)
        .json({ message: 'Invalid API key', hint: 'Double check your Supabase `anon` or `service_role` API key.' });
    }, next);
  });
  router.use(express.json({ limit: '16kb' }));

  const handle =
    (fn: (req: Request, res: Response) => Promise<void>) => (req: Request, res: Response, next: NextFunction) => {
      fn(req, res).catch(next);
    };

  /** The verified claims of the request's bearer token, and the live user behind them. */
  async function requireUser(req: Request): Promise<{ claims: AccessClaims; user: LocalUser }> {
    let token: string | undefined;
    try {
      token = bearerToken(req.headers.authorization);
    } catch {
      token = undefined;
    }
    if (!token) throw new GoTrueError(401, 'no_authorization', 'This endpoint requires a valid Bearer token');
    const claims = await provider.verify(token);
    const user = claims.session_id ? await local.sessionUser(claims.sub, claims.session_id) : null;
    if (!user) throw new GoTrueError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
    return { claims, user };
  }

  function checkedCredentials(body: unknown) {
    try {
      return credentials(body);
    } catch (e) {
      const b = (body ?? {}) as Record<string, unknown>;
      if (typeof b.password === 'string' && b.password.length < 8 && typeof b.email === 'string') {
        throw new GoTrueError(422, 'weak_password', 'Password should be at least 8 characters.', {
          weak_password: { reasons: ['length'] },
        });
      }
      throw new GoTrueError(400, 'validation_failed', (e as Error).message);
    }
  }

  async function session(tokens: Awaited<ReturnType<AuthProvider['login']>>, res: Response) {
    const claims = await provider.verify(tokens.access_token);
    const user = await local.sessionUser(claims.sub, claims.session_id!);
    if (!user) throw new GoTrueError(403, 'session_not_found', 'Session from session_id claim in JWT does not exist');
    res.status(200).json({ ...tokens, user: userJson(user) });
  }

  router.post(
    '/signup',
    handle(async (req, res) => {
      const { email, password } = checkedCredentials(req.body);
      limit(req, email);
      await session(await provider.signup(email, password), res);
    }),
  );

  router.post(
    '/token',
    handle(async (req, res) => {
      const grant = req.query.grant_type;
      const body = (req.body ?? {}) as Record<string, unknown>;
      if (grant === 'password') {
        if (typeof body.email !== 'string' || !body.email.trim() || typeof body.password !== 'string') {
          throw new GoTrueError(400, 'validation_failed', 'missing email or phone');
        }
        limit(req, body.email.trim());
        return session(await provider.login(body.email.trim(), body.password), res);
      }
      if (grant === 'refresh_token') {
        if (typeof body.refresh_token !== 'string' || !body.refresh_token)
          throw new GoTrueError(400, 'validation_failed', 'Refresh token is not valid');
        return session(await provider.refresh(body.refresh_token), res);
      }
      throw new GoTrueError(400, 'invalid_credentials', 'unsupported_grant_type');
    }),
  );

  router.post(
    '/logout',
    handle(async (req, res) => {
      const scope = (req.query.scope as string | undefined) ?? 'global';
      if (!['global', 'local', 'others'].includes(scope))
        throw new GoTrueError(400, 'validation_failed', `Unsupported logout scope "${scope}"`);
      const { claims } = await requireUser(req);
      if (scope === 'local') await provider.logout({ claims });
      else await local.logoutUser(claims.sub, scope === 'others' ? claims.session_id! : null);
      res.status(204).end();
    }),
  );

  router.get(
    '/user',
    handle(async (req, res) => {
      const { user } = await requireUser(req);
      res.status(200).json(userJson(user));
    }),
  );

  router.use((req: Request, _res: Response, next: NextFunction) => {
    next(
      new GoTrueError(404, 'not_found', `${req.method} ${req.baseUrl}${req.path} is not part of Heimdex's auth API`),
    );
  });

  // GoTrue's two error shapes, chosen by the client's API version header (errors.go).
  router.use((err: unknown, req: Request, res: Response, next: NextFunction) => {
    let e: GoTrueError;
    if (err instanceof GoTrueError) e = err;
    else if (err instanceof AuthError) e = fromAuthError(err);
    else {
      const x = err as { type?: string; status?: number };
      if (x?.type === 'entity.parse.failed')
        e = new GoTrueError(400, 'bad_json', 'Could not parse request body as JSON');
      else if (x?.status && x.status >= 400 && x.status < 500)
        e = new GoTrueError(x.status, 'validation_failed', 'Bad request');
      else return next(err);
    }
    if (e.retryAfterS) res.setHeader('retry-after', String(e.retryAfterS));
    res.setHeader('x-sb-error-code', e.code);
    const version = req.get(API_VERSION_HEADER);
    if (version && version >= API_VERSION_2024) {
      res.setHeader(API_VERSION_HEADER, API_VERSION_2024);
      res.status(e.status).json({ code: e.code, message: e.message, ...e.extra });
    } else {
      res.status(e.status).json({ code: e.status, error_code: e.code, msg: e.message, ...e.extra });
    }
  });

  return router;
}
