/*
 * Reading a whole GraphQL connection a page at a time. The app's lists have
 * no natural bound (a long video has thousands of scenes, a library
 * thousands of videos, a big one thousands of unnamed face groups): a fixed
 * `first` silently dropped the rest, and one request for everything is a
 * long wait before anything shows. Pure (no DOM), so node tests run it
 * against a real server.
 */
import type { Api } from './api.ts';

export interface Page<T> {
  nodes: T[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
}

/** Rows per request: a page of scenes with signed URLs is ~150 KB. */
export const PAGE_SIZE = 500;

/** GraphQL for a page of `connection` (with `args`, e.g. an order), its nodes as `fields`. */
export const pageOf = (connection: string, fields: string, args = '') =>
  `${connection}(${args ? `${args}, ` : ''}first: $first, after: $after) { nodes { ${fields} } pageInfo { hasNextPage endCursor } }`;

/**
 * Fetches pages until the last, handing each to onPage as it arrives
 * (`fetchPage` gets the cursor to continue after, null first). onPage
 * returning false stops early (the page left the screen).
 */
export async function eachPage<T>(
  fetchPage: (after: string | null) => Promise<Page<T>>,
  onPage: (nodes: T[]) => boolean | void,
): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const page: Page<T> = await fetchPage(after);
    if (onPage(page.nodes) === false || !page.pageInfo.hasNextPage || !page.pageInfo.endCursor) return;
    after = page.pageInfo.endCursor;
  }
}

/** Every node, once all pages are in. */
export async function allNodes<T>(fetchPage: (after: string | null) => Promise<Page<T>>): Promise<T[]> {
  const all: T[] = [];
  await eachPage(fetchPage, (nodes) => void all.push(...nodes));
  return all;
}

/** Every person of the user, named ones and unnamed groups alike (a big library has thousands of groups). */
export function allPersons<T>(api: Api, fields: string): Promise<T[]> {
  return allNodes((after) =>
    api
      .query<{ allPersons: Page<T> }>(`query($first: Int!, $after: Cursor) { ${pageOf('allPersons', fields)} }`, {
        first: PAGE_SIZE,
        after,
      })
      .then((d) => d.allPersons),
  );
}
