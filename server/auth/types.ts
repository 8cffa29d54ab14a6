/*
 * The one auth interface the HTTP routes and the GraphQL context use; the
 * provider behind it (local or supabase) is chosen by AUTH_PROVIDER.
 */

/** Claims the database policies and our code rely on (Supabase's shape). */
export interface AccessClaims {
  sub: string;
  role: 'authenticated';
  aud: string | string[];
  exp: number;
  iat?: number;
  email?: string;
  session_id?: string;
}

/** GoTrue's token response, so Supabase client code works against either provider. */
export interface TokenResponse {
  access_token: string;
  token_type: 'bearer';
  expires_in: number;
  expires_at: number;
  refresh_token: string;
  user: { id: string; email: string | null };
}

export interface AuthProvider {
  readonly name: 'local' | 'supabase';
  signup(email: string, password: string): Promise<TokenResponse>;
  login(email: string, password: string): Promise<TokenResponse>;
  refresh(refreshToken: string): Promise<TokenResponse>;
  /** Ends the session named by a refresh token or by a verified access token. */
  logout(opts: { refreshToken?: string; accessToken?: string; claims?: AccessClaims }): Promise<void>;
  /** Throws AuthError(401) for anything but a valid, unexpired token for our audience. */
  verify(token: string): Promise<AccessClaims>;
  /** Present for AUTH_PROVIDER=local: what Supabase's /auth/v1 API needs beyond the routes above. */
  local?: LocalAuthExtras;
  close(): Promise<void>;
}

export interface LocalUser {
  id: string;
  email: string;
  created_at: Date;
  last_login_at: Date | null;
}

export interface LocalAuthExtras {
  /** A token with role anon, signed by the local secret: the public "anon key" supabase-js sends as apikey. */
  anonKey: string;
  /** Whether an apikey header value is this server's anon key (or any anon token it signed). */
  isApiKey(key: string): Promise<boolean>;
  /** The user of a live session; null when the session was signed out or revoked. */
  sessionUser(userId: string, sessionId: string): Promise<LocalUser | null>;
  /** Ends every session of the user but keepSession; returns how many were ended. */
  logoutUser(userId: string, keepSession: string | null): Promise<number>;
}

/** An auth failure with the HTTP status and a stable machine-readable code. */
export class AuthError extends Error {
  status: number;
  code: string;
  retryAfterS?: number;
  constructor(status: number, code: string, message: string, retryAfterS?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterS = retryAfterS;
  }
}

export const INVALID_CREDENTIALS = () => new AuthError(400, 'invalid_credentials', 'Invalid login credentials');
export const INVALID_REFRESH = () =>
  new AuthError(401, 'invalid_refresh_token', 'Refresh token is invalid, expired or revoked');
/** A rotated refresh token presented again after the reuse grace: its session is revoked. */
export const REFRESH_ALREADY_USED = () =>
  new AuthError(401, 'refresh_token_already_used', 'Refresh token was already used; the session is revoked');
