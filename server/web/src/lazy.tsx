/*
 * Pages that the first screen (sign-in, library, search) does not need are
 * separate chunks, fetched the first time one is opened: esbuild splits each
 * dynamic import() into its own hashed file, served from /assets like the
 * entry. Preact's own lazy() lives in preact/compat; these few lines avoid
 * pulling that into the entry.
 */
import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';

export function lazyPage<P extends object>(load: () => Promise<ComponentType<P>>): ComponentType<P> {
  let loaded: ComponentType<P> | null = null;
  let loading: Promise<ComponentType<P>> | null = null;
  return function LazyPage(props: P) {
    const [Page, setPage] = useState<ComponentType<P> | null>(() => loaded);
    const [error, setError] = useState('');
    useEffect(() => {
      if (Page) return;
      let live = true;
      (loading ??= load().then((c) => (loaded = c))).then(
        (c) => live && setPage(() => c),
        (e: Error) => {
          // A failed fetch may succeed later (a network blip): the next visit tries again.
          loading = null;
          if (live) setError(e.message);
        },
      );
      return () => {
        live = false;
      };
    }, []);
    if (error)
      return (
        <p class="boot error" role="alert">
          This page could not be loaded ({error}). Reload to try again: Heimdex may have been updated.
        </p>
      );
    if (!Page) return <p class="boot">Loading…</p>;
    return <Page {...props} />;
  };
}
