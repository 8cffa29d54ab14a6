/*
 * Search results as moments: keyframe, title, time range, the snippet with
 * the matched words marked, the people seen, and the score split into
 * text / vision / tags. Each result is a link to the player at the scene's
 * start; arrow keys move between results and Enter opens one. The person
 * filter restricts the moments to scenes where that person appears (in
 * SQL, inside search_scenes); with no words it lists all of them.
 */
import { useEffect, useState } from 'preact/hooks';
import { useApi } from '../app.tsx';
import {
  missingNotice,
  personName,
  personOption,
  snippetParts,
  sortPersons,
  timeRange,
  type PersonLike,
} from '../format.ts';
import { navigate, playerUrl, searchUrl } from '../router.ts';
import { allPersons } from '../connection.ts';

interface Hit {
  rank: number;
  sceneId: string;
  videoId: string;
  title: string;
  startS: number;
  endS: number;
  score: number;
  components: { text: number; vision: number; tags: number };
  snippet: string | null;
  thumbnailUrl: string | null;
  persons: { id: string; name: string | null }[];
}

interface Page {
  hits: Hit[];
  missing: string[];
  hasNextPage: boolean;
  endCursor: string | null;
}

const PAGE = 12;
const SEARCH = `query($q: String!, $p: UUID, $first: Int, $after: String) {
  searchScenes(query: $q, personId: $p, first: $first, after: $after) {
    hits { rank sceneId videoId title startS endS score components { text vision tags } snippet thumbnailUrl persons { id name } }
    missing hasNextPage endCursor
  }
}`;

export function SearchPage({ query, personId }: { query: string; personId: string }) {
  const api = useApi();
  const [persons, setPersons] = useState<PersonLike[]>([]);
  const [hits, setHits] = useState<Hit[]>([]);
  const [page, setPage] = useState<Page | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const load = async (after: string | null) => {
    setBusy(true);
    setError('');
    try {
      const d = await api.query<{ searchScenes: Page }>(SEARCH, {
        q: query,
        p: personId || null,
        first: PAGE,
        after,
      });
      setPage(d.searchScenes);
      setHits((prev) => (after ? [...prev, ...d.searchScenes.hits] : d.searchScenes.hits));
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  useEffect(() => {
    if (query || personId) void load(null);
  }, [query, personId]);
  useEffect(() => {
    allPersons<PersonLike>(api, 'id name faceCount').then(
      (all) => setPersons(sortPersons(all)),
      (e: Error) => setError(e.message),
    );
  }, [api]);
  const person = persons.find((p) => p.id === personId);

  const onKey = (e: KeyboardEvent) => {
    if (e.key !== 'ArrowDown' && e.key !== 'ArrowUp') return;
    const links = [...document.querySelectorAll<HTMLElement>('[data-result]')];
    const i = links.indexOf(document.activeElement as HTMLElement);
    if (i < 0) return;
    e.preventDefault();
    const j = e.key === 'ArrowDown' ? Math.min(i + 1, links.length - 1) : i - 1;
    if (j < 0) document.querySelector<HTMLInputElement>('input[type=search]')?.focus();
    else links[j]!.focus();
  };

  const filter = (
    <form class="filters" onSubmit={(e) => e.preventDefault()}>
      <label>
        Person
        {/* Named explicitly: a label around a select would add the chosen option to its name. */}
        <select
          name="person"
          aria-label="Person"
          value={personId}
          onChange={(e) => navigate(searchUrl(query, e.currentTarget.value), { replace: !query && !personId })}
        >
          <option value="">Anyone</option>
          {personId && !person && <option value={personId}>this person</option>}
          {persons.map((p) => (
            <option value={p.id}>{personOption(p)}</option>
          ))}
        </select>
      </label>
    </form>
  );

  if (!query && !personId)
    return (
      <section>
        {filter}
        <p class="quiet">Type what you are looking for in the search box, or choose a person.</p>
      </section>
    );
  const who = person ? personName(person) : 'this person';
  return (
    <section aria-labelledby="results-title">
      <h1 id="results-title">
        {query ? `Moments for “${query}”` : 'Moments'}
        {personId && ` with ${who}`}
      </h1>
      {filter}
      {page && page.missing.length > 0 && (
        <p class="notice" role="note">
          {page.missing.map(missingNotice).join('; ')}.
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {page && hits.length === 0 && !busy && <p class="quiet">Nothing matched. Try other words.</p>}
      <ol class="results" onKeyDown={onKey}>
        {hits.map((h) => (
          <li key={h.sceneId}>
            <a class="hit" href={playerUrl(h.videoId, h.startS, query)} data-result>
              <span class="thumb">
                {h.thumbnailUrl ? <img src={h.thumbnailUrl} alt="" loading="lazy" /> : <span class="placeholder" />}
              </span>
              <span class="body">
                <span class="title">{h.title}</span> <span class="time">{timeRange(h.startS, h.endS)}</span>
                {h.persons.length > 0 && <span class="who"> · {h.persons.map((p) => personName(p)).join(', ')}</span>}
                {h.snippet && (
                  <span class="snippet">
                    {snippetParts(h.snippet).map((p) => (p.hit ? <mark>{p.text}</mark> : p.text))}
                  </span>
                )}
                <Score c={h.components} score={h.score} />
              </span>
            </a>
          </li>
        ))}
      </ol>
      {page?.hasNextPage && (
        <button type="button" class="more" disabled={busy} onClick={() => void load(page.endCursor)}>
          {busy ? 'Loading…' : 'More results'}
        </button>
      )}
      {busy && !page && <p class="quiet">Searching…</p>}
    </section>
  );
}

/** The score as a small stacked bar: how much text, vision and tags each contributed. */
function Score({ c, score }: { c: Hit['components']; score: number }) {
  // The filled length is the score (0..1); its parts are each modality's share of it.
  const total = c.text + c.vision + c.tags || 1;
  const part = (x: number) => `${Math.min(1, score) * (x / total) * 100}%`;
  const label = `score ${score.toFixed(2)}: text ${c.text.toFixed(2)}, vision ${c.vision.toFixed(2)}, tags ${c.tags.toFixed(2)}`;
  return (
    <span class="score" title={label}>
      <span class="bar" aria-hidden="true">
        <span class="text" style={{ width: part(c.text) }} />
        <span class="vision" style={{ width: part(c.vision) }} />
        <span class="tags" style={{ width: part(c.tags) }} />
      </span>
      <span class="legend">
        {score.toFixed(2)} · text {c.text.toFixed(2)} · vision {c.vision.toFixed(2)} · tags {c.tags.toFixed(2)}
      </span>
    </span>
  );
}
