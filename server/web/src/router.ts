/*
 * A history-API router in a few lines: the server answers index.html for each
 * app path (server/routes/web.ts APP_PATHS), and in-app links are handled here
 * without a page load. Query strings hold only the search text, a person id and a time.
 */
import { useEffect, useState } from 'preact/hooks';

export interface Route {
  name: 'library' | 'search' | 'player' | 'people' | 'person' | 'notFound';
  params: Record<string, string>;
  query: URLSearchParams;
}

export function parseRoute(path: string, search: string): Route {
  const query = new URLSearchParams(search);
  if (path === '/') return { name: 'library', params: {}, query };
  if (path === '/search') return { name: 'search', params: {}, query };
  if (path === '/people') return { name: 'people', params: {}, query };
  const m = /^\/videos\/([0-9a-f-]{36})$/i.exec(path);
  if (m) return { name: 'player', params: { id: m[1]! }, query };
  const p = /^\/people\/([0-9a-f-]{36})$/i.exec(path);
  if (p) return { name: 'person', params: { id: p[1]! }, query };
  return { name: 'notFound', params: {}, query };
}

/** The search page's URL: words, a person, or both. */
export function searchUrl(q: string, personId = ''): string {
  const params = new URLSearchParams();
  if (q) params.set('q', q);
  if (personId) params.set('person', personId);
  return `/search?${params}`;
}

/** A moment in the player; the search's words, if any, are marked in its transcript. */
export function playerUrl(videoId: string, t: number, q = ''): string {
  const params = new URLSearchParams({ t: String(t) });
  if (q) params.set('q', q);
  return `/videos/${videoId}?${params}`;
}

const listeners = new Set<() => void>();

export function navigate(url: string, opts: { replace?: boolean } = {}) {
  if (opts.replace) history.replaceState(null, '', url);
  else history.pushState(null, '', url);
  for (const l of listeners) l();
  window.scrollTo(0, 0);
}

export function useRoute(): Route {
  const read = () => parseRoute(location.pathname, location.search);
  const [route, setRoute] = useState(read);
  useEffect(() => {
    const update = () => setRoute(read());
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** Makes plain same-origin <a href> clicks in-app navigations (modifier clicks still open new tabs). */
export function interceptLinks(root: HTMLElement) {
  root.addEventListener('click', (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element).closest('a');
    if (!a || a.target || a.origin !== location.origin || a.hasAttribute('download')) return;
    if (parseRoute(a.pathname, a.search).name === 'notFound') return;
    e.preventDefault();
    navigate(a.pathname + a.search);
  });
}
