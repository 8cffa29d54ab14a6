/*
 * People: everyone whose face Heimdex recognises, named people first, then
 * the groups of similar faces nobody has named yet (largest first), each
 * with a face crop and how often they appear. Naming a group here is one
 * step; a person is added from photos (createPerson), and the faces already
 * found in earlier videos that match join them.
 */
import { useEffect, useState } from 'preact/hooks';
import { useApi } from '../app.tsx';
import { allPersons } from '../connection.ts';
import { personName, plural, sortPersons } from '../format.ts';
import { PhotoField, usePhotoSet } from '../photos.tsx';
import { navigate } from '../router.ts';

export const PERSON_FIELDS = 'id name faceCount sceneCount thumbnailUrl';

export interface Person {
  id: string;
  name: string | null;
  faceCount: number;
  sceneCount: number;
  thumbnailUrl: string | null;
}

export function People() {
  const api = useApi();
  const [persons, setPersons] = useState<Person[] | null>(null);
  const [error, setError] = useState('');

  const load = () =>
    allPersons<Person>(api, PERSON_FIELDS).then(
      (all) => setPersons(sortPersons(all)),
      (e: Error) => setError(e.message),
    );
  useEffect(() => {
    void load();
    // A video finishing adds faces and groups: refresh when one is indexed.
    return api.subscribe<{ videoChanged: { state: string } }>(
      'subscription { videoChanged { videoId state } }',
      {},
      ({ videoChanged: c }) => c.state === 'indexed' && void load(),
    );
  }, [api]);

  const named = persons?.filter((p) => p.name !== null) ?? [];
  const unnamed = persons?.filter((p) => p.name === null) ?? [];
  const replace = (p: Person) => setPersons((ps) => sortPersons([...(ps ?? []).filter((x) => x.id !== p.id), p]));

  return (
    <section aria-labelledby="people-title" class="people-page">
      <h1 id="people-title">People</h1>
      <p class="quiet lede">
        Faces found in your videos are grouped by person. Name a group once and search finds that person everywhere, in
        videos indexed before and after.
      </p>
      <Enrol onCreated={(p) => navigate(`/people/${p.id}`)} />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {persons === null && !error && <p class="quiet">Loading people…</p>}
      {persons?.length === 0 && (
        <p class="quiet">
          Nobody yet. Faces appear here once videos with people in them are indexed; or add a person from photos above.
        </p>
      )}
      {named.length > 0 && (
        <section aria-labelledby="named-title">
          <h2 id="named-title">Named</h2>
          <ul class="people">
            {named.map((p) => (
              <PersonCard key={p.id} person={p} />
            ))}
          </ul>
        </section>
      )}
      {unnamed.length > 0 && (
        <section aria-labelledby="unnamed-title">
          <h2 id="unnamed-title">Not named yet</h2>
          <ul class="people">
            {unnamed.map((p) => (
              <PersonCard key={p.id} person={p} onNamed={replace} />
            ))}
          </ul>
        </section>
      )}
    </section>
  );
}

function PersonCard({ person: p, onNamed }: { person: Person; onNamed?(p: Person): void }) {
  const api = useApi();
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);
  const name = async (value: string) => {
    setBusy(true);
    setError('');
    try {
      const d = await api.query<{ updatePersonById: { person: Person } }>(
        `mutation($id: UUID!, $n: String!) { updatePersonById(input: {id: $id, personPatch: {name: $n}}) { person { ${PERSON_FIELDS} } } }`,
        { id: p.id, n: value },
      );
      onNamed?.(d.updatePersonById.person);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <li class="person-card">
      <a class="face" href={`/people/${p.id}`} tabIndex={-1} aria-hidden="true">
        {p.thumbnailUrl ? <img src={p.thumbnailUrl} alt="" loading="lazy" /> : <span class="placeholder" />}
      </a>
      <div class="meta">
        <h3>
          <a href={`/people/${p.id}`}>{personName(p)}</a>
        </h3>
        <p class="quiet">
          {plural(p.faceCount, 'face')} · {plural(p.sceneCount, 'scene')}
        </p>
        {p.name === null && (
          <form
            class="inline"
            onSubmit={(e) => {
              e.preventDefault();
              const v = String(new FormData(e.currentTarget).get('name') ?? '').trim();
              if (v) void name(v);
            }}
          >
            <input name="name" aria-label="Name this person" placeholder="Who is this?" maxLength={200} required />
            <button type="submit" disabled={busy}>
              Save name
            </button>
          </form>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
      </div>
    </li>
  );
}

/** Add a person from photos: a name, one or more photos, and the API's verdict on each photo. */
function Enrol({ onCreated }: { onCreated(p: Person): void }) {
  const api = useApi();
  const photos = usePhotoSet(api);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');

  const submit = async (form: HTMLFormElement) => {
    const name = String(new FormData(form).get('name') ?? '').trim();
    setError('');
    if (!name) return setError('Enter the person’s name.');
    if (!photos.photos.length) return setError('Choose at least one photo in which the person’s face is clear.');
    setBusy(true);
    try {
      const keys = await photos.upload(api);
      const d = await api.query<{ createPerson: Person }>(
        `mutation($n: String!, $k: [String!]) { createPerson(name: $n, photoKeys: $k) { ${PERSON_FIELDS} } }`,
        { n: name, k: keys },
      );
      photos.clear();
      onCreated(d.createPerson);
    } catch (e) {
      const message = (e as Error).message;
      setError(
        photos.blame(message)
          ? 'Nothing was saved: one photo cannot be used (marked above). Remove it, or choose another, and try again.'
          : message,
      );
    } finally {
      setBusy(false);
    }
  };

  return (
    <details class="card enrol" open={photos.photos.length > 0 || undefined}>
      <summary>Add a person from photos</summary>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          void submit(e.currentTarget);
        }}
      >
        <label>
          Person’s name
          <input name="name" maxLength={200} autocomplete="off" />
        </label>
        <PhotoField
          set={photos}
          label="Photos of the person"
          hint="JPEG, PNG or WebP, one face per photo (or one clearly larger than the others)."
        />
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <div class="row">
          <button type="submit" disabled={busy}>
            {busy ? 'Adding…' : 'Add person'}
          </button>
        </div>
      </form>
    </details>
  );
}
