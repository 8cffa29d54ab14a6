/*
 * The shell: sign-in when there is no session, otherwise the header (search
 * box, navigation, log out) and the page the URL names.
 */
import { createContext } from 'preact';
import { useContext, useEffect, useRef, useState } from 'preact/hooks';
import type { Api, Session } from './api.ts';
import { navigate, searchUrl, useRoute, type Route } from './router.ts';
import { Login } from './pages/login.tsx';
import { Library } from './pages/library.tsx';
import { SearchPage } from './pages/search.tsx';
import { lazyPage } from './lazy.tsx';

// Not needed for the first screen: each is its own chunk (scripts/bench-web.ts weighs them).
const Player = lazyPage(() => import('./pages/player.tsx').then((m) => m.Player));
const People = lazyPage(() => import('./pages/people.tsx').then((m) => m.People));
const PersonPage = lazyPage(() => import('./pages/person.tsx').then((m) => m.PersonPage));

export const ApiContext = createContext<Api>(null as unknown as Api);
export const useApi = () => useContext(ApiContext);

interface NavItem {
  href: string;
  label: string;
  route: Route['name'];
}
const NAV: NavItem[] = [
  { href: '/', label: 'Library', route: 'library' },
  { href: '/people', label: 'People', route: 'people' },
];

export function App({ api }: { api: Api }) {
  // The sign-in form, or with a stored session the signed-in shell, shows at
  // once (its requests wait for a refresh if the token needs one); only a
  // stored entry the page cannot read waits for supabase-js to judge it.
  const [session, setSession] = useState<Session | null | undefined>(
    () => api.storedSession()?.session ?? (api.hasStoredSession() ? undefined : null),
  );
  const [bootError, setBootError] = useState('');
  // The moment the page is usable (sign-in form or signed-in shell painted,
  // its handlers attached), for scripts/bench-web.ts; a performance mark
  // costs nothing otherwise.
  useEffect(() => {
    if (session !== undefined && !performance.getEntriesByName('heimdex:interactive').length)
      performance.mark('heimdex:interactive');
  }, [session]);

  // Effects run after the frame is painted: this is the first moment after
  // the sign-in form or the shell is on screen, so supabase-js (the largest
  // chunk) loads behind it instead of competing with it, even when the
  // shell's requests wait for it to refresh the token. Sign-in waits for
  // the same load (api.auth()) if a user is quicker. Its session replaces the
  // stored one the shell showed: the same user, or none if the refresh token
  // was revoked (the sign-in form then replaces the shell). Signed out, the
  // websocket goes: the shell may have opened it without a token, and the
  // next user must not inherit it.
  useEffect(() => {
    let unsubscribe = () => {};
    let gone = false;
    const follow = (s: Session | null) => {
      if (!s) api.reset();
      setSession(s);
    };
    api.auth().then(
      async (auth) => {
        if (gone) return;
        unsubscribe = auth.onAuthStateChange((_event, s) => follow(s)).data.subscription.unsubscribe;
        follow((await auth.getSession()).data.session);
      },
      (e: Error) => setBootError(`Heimdex could not start: ${e.message}`),
    );
    return () => {
      gone = true;
      unsubscribe();
    };
  }, [api]);

  if (bootError)
    return (
      <p class="boot error" role="alert">
        {bootError}
      </p>
    );
  if (session === undefined) return <p class="boot">Loading…</p>;
  return (
    <ApiContext.Provider value={api}>
      {session ? <SignedIn email={session.user.email ?? ''} /> : <Login />}
    </ApiContext.Provider>
  );
}

function SignedIn({ email }: { email: string }) {
  const api = useApi();
  const route = useRoute();
  const search = useRef<HTMLInputElement>(null);
  const q = route.name === 'search' ? (route.query.get('q') ?? '') : '';
  // The search page's person filter stays on when new words are searched.
  const person = route.name === 'search' ? (route.query.get('person') ?? '') : '';

  // "/" focuses search from anywhere but a text field.
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const t = e.target as HTMLElement;
      if (e.key !== '/' || e.ctrlKey || e.metaKey || e.altKey) return;
      if (t.closest('input, textarea, select, [contenteditable]')) return;
      e.preventDefault();
      search.current?.focus();
      search.current?.select();
    };
    document.addEventListener('keydown', onKey);
    return () => document.removeEventListener('keydown', onKey);
  }, []);

  useEffect(() => {
    if (search.current && document.activeElement !== search.current) search.current.value = q;
  }, [q]);

  const submit = (e: Event) => {
    e.preventDefault();
    const value = search.current?.value.trim() ?? '';
    if (value || person) navigate(searchUrl(value, person));
  };
  const onSearchKey = (e: KeyboardEvent) => {
    if (e.key === 'ArrowDown') {
      const first = document.querySelector<HTMLElement>('[data-result]');
      if (first) {
        e.preventDefault();
        first.focus();
      }
    }
  };
  const logOut = async () => {
    api.reset();
    await (await api.auth()).signOut();
    navigate('/', { replace: true });
  };

  return (
    <>
      <header class="top">
        <a class="brand" href="/">
          Heimdex
        </a>
        <form role="search" class="search" onSubmit={submit}>
          <input
            ref={search}
            type="search"
            name="q"
            aria-label="Search"
            placeholder="Search what is said or shown  ( / )"
            defaultValue={q}
            onKeyDown={onSearchKey}
            autocomplete="off"
            enterKeyHint="search"
          />
        </form>
        <nav aria-label="Main">
          {NAV.map((n) => (
            <a
              href={n.href}
              aria-current={
                route.name === n.route || (n.route === 'people' && route.name === 'person') ? 'page' : undefined
              }
            >
              {n.label}
            </a>
          ))}
          <button type="button" class="quiet" onClick={logOut} title={email}>
            Log out
          </button>
        </nav>
      </header>
      <main id="main">
        <Page route={route} />
      </main>
    </>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.name) {
    case 'library':
      return <Library />;
    case 'search': {
      const q = route.query.get('q') ?? '';
      const person = route.query.get('person') ?? '';
      return <SearchPage key={`${q}\n${person}`} query={q} personId={person} />;
    }
    case 'people':
      return <People />;
    case 'person':
      return <PersonPage key={route.params.id} id={route.params.id!} />;
    case 'player':
      return (
        <Player
          key={route.params.id}
          id={route.params.id!}
          t={Number(route.query.get('t') ?? 0) || 0}
          q={route.query.get('q') ?? ''}
        />
      );
    default:
      return (
        <section class="empty">
          <h1>Not found</h1>
          <p>
            There is no page here. <a href="/">Back to the library</a>
          </p>
        </section>
      );
  }
}
