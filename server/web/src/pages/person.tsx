/*
 * One person: their moments (searchScenes with only personId: every scene
 * they appear in, in time order per video), their faces, and the fixes a
 * user makes to what the grouping decided: name or rename, add photos,
 * move a face to someone else (or to nobody), merge into another person,
 * delete.
 */
import { useEffect, useState } from 'preact/hooks';
import { useApi } from '../app.tsx';
import { clock, personName, personOption, plural, sortPersons, timeRange } from '../format.ts';
import { PhotoField, usePhotoSet } from '../photos.tsx';
import { navigate, playerUrl } from '../router.ts';
import { allPersons } from '../connection.ts';
import { PERSON_FIELDS, type Person } from './people.tsx';

interface Face {
  id: string;
  thumbnailUrl: string | null;
  photoKey: string | null;
  frameS: number | null;
  videoId: string | null;
  video: { title: string } | null;
}

interface Moment {
  sceneId: string;
  videoId: string;
  title: string;
  startS: number;
  endS: number;
  thumbnailUrl: string | null;
}

interface Moments {
  hits: Moment[];
  hasNextPage: boolean;
  endCursor: string | null;
}

const LOAD = `query($id: UUID!) {
  personById(id: $id) { ${PERSON_FIELDS}
    faces(first: 200, orderBy: CREATED_AT_ASC) { totalCount nodes { id thumbnailUrl photoKey frameS videoId video { title } } } }
}`;
const MOMENTS = `query($p: UUID!, $after: String) {
  searchScenes(query: "", personId: $p, first: 24, after: $after) {
    hits { sceneId videoId title startS endS thumbnailUrl } hasNextPage endCursor
  }
}`;

type Loaded = Person & { faces: { totalCount: number; nodes: Face[] } };
type Other = Pick<Person, 'id' | 'name' | 'faceCount'>;

export function PersonPage({ id }: { id: string }) {
  const api = useApi();
  const [person, setPerson] = useState<Loaded | null | undefined>(undefined);
  const [others, setOthers] = useState<Other[]>([]);
  const [moments, setMoments] = useState<Moments | null>(null);
  const [error, setError] = useState('');
  const [notice, setNotice] = useState('');

  const load = async () => {
    try {
      const [d, all] = await Promise.all([
        api.query<{ personById: Loaded | null }>(LOAD, { id }),
        allPersons<Other>(api, 'id name faceCount'),
      ]);
      setPerson(d.personById);
      setOthers(sortPersons(all.filter((p) => p.id !== id)));
      if (d.personById) {
        const m = await api.query<{ searchScenes: Moments }>(MOMENTS, { p: id, after: null });
        setMoments(m.searchScenes);
      }
    } catch (e) {
      setError((e as Error).message);
    }
  };
  useEffect(() => {
    void load();
  }, [api, id]);

  const more = async () => {
    if (!moments?.endCursor) return;
    try {
      const m = await api.query<{ searchScenes: Moments }>(MOMENTS, { p: id, after: moments.endCursor });
      setMoments({ ...m.searchScenes, hits: [...moments.hits, ...m.searchScenes.hits] });
    } catch (e) {
      setError((e as Error).message);
    }
  };

  if (person === undefined)
    return error ? (
      <p class="error" role="alert">
        {error}
      </p>
    ) : (
      <p class="quiet">Loading…</p>
    );
  if (person === null)
    return (
      <section class="empty">
        <h1>Person not found</h1>
        <p>
          They may have been merged into someone else or deleted. <a href="/people">Back to People</a>
        </p>
      </section>
    );

  const label = personName(person);
  return (
    <section class="person-page" aria-labelledby="person-title">
      <p class="crumb">
        <a href="/people">← People</a>
      </p>
      <header class="person-head">
        <span class="face big">
          {person.thumbnailUrl ? <img src={person.thumbnailUrl} alt="" /> : <span class="placeholder" />}
        </span>
        <div>
          <h1 id="person-title">{label}</h1>
          <p class="quiet">
            {plural(person.faceCount, 'face')} · {plural(person.sceneCount, 'scene')}
            {' · '}
            <a href={`/search?person=${person.id}`}>Search within their moments</a>
          </p>
        </div>
      </header>
      {notice && (
        <p class="notice ok" role="status">
          {notice}
        </p>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}

      <section aria-labelledby="moments-title">
        <h2 id="moments-title">Moments</h2>
        {moments === null && <p class="quiet">Loading moments…</p>}
        {moments?.hits.length === 0 && (
          <p class="quiet">No scene of an indexed video shows {person.name ?? 'this person'} yet.</p>
        )}
        {moments && moments.hits.length > 0 && (
          <ol class="moments">
            {moments.hits.map((h) => (
              <li key={h.sceneId}>
                <a href={playerUrl(h.videoId, h.startS)}>
                  <span class="thumb">
                    {h.thumbnailUrl ? <img src={h.thumbnailUrl} alt="" loading="lazy" /> : <span class="placeholder" />}
                  </span>
                  <span class="title">{h.title}</span> <span class="time">{timeRange(h.startS, h.endS)}</span>
                </a>
              </li>
            ))}
          </ol>
        )}
        {moments?.hasNextPage && (
          <button type="button" class="more" onClick={() => void more()}>
            More moments
          </button>
        )}
      </section>

      <section aria-labelledby="manage-title" class="manage">
        <h2 id="manage-title">Manage</h2>
        <Rename
          person={person}
          onDone={(p) => {
            setPerson({ ...person, ...p });
            setNotice(`Saved: ${personName(p)}.`);
          }}
        />
        <AddPhotos
          person={person}
          onDone={(p) => {
            setNotice(`Photos added. ${personName(p)} now has ${plural(p.faceCount, 'face')}.`);
            void load();
          }}
        />
        <Merge person={person} others={others} />
        <Delete person={person} />
      </section>

      <section aria-labelledby="faces-title">
        <h2 id="faces-title">Faces</h2>
        <p class="quiet">
          A face that is not {person.name ?? 'this person'}? Move it to the right person, or to nobody.
        </p>
        <ul class="faces">
          {person.faces.nodes.map((f, i) => (
            <FaceItem
              key={f.id}
              face={f}
              n={i + 1}
              person={person}
              others={others}
              onMoved={(msg) => {
                setNotice(msg);
                void load();
              }}
            />
          ))}
        </ul>
        {person.faces.totalCount > person.faces.nodes.length && (
          <p class="quiet">And {plural(person.faces.totalCount - person.faces.nodes.length, 'more face')}.</p>
        )}
      </section>
    </section>
  );
}

function Rename({ person, onDone }: { person: Person; onDone(p: Person): void }) {
  const api = useApi();
  const [error, setError] = useState('');
  return (
    <form
      class="inline"
      onSubmit={async (e) => {
        e.preventDefault();
        const name = String(new FormData(e.currentTarget).get('name') ?? '').trim();
        if (!name) return;
        setError('');
        try {
          const d = await api.query<{ updatePersonById: { person: Person } }>(
            `mutation($id: UUID!, $n: String!) { updatePersonById(input: {id: $id, personPatch: {name: $n}}) { person { ${PERSON_FIELDS} } } }`,
            { id: person.id, n: name },
          );
          onDone(d.updatePersonById.person);
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <label>
        Name
        <input
          key={person.name ?? ''}
          name="name"
          defaultValue={person.name ?? ''}
          placeholder="Who is this?"
          maxLength={200}
          required
        />
      </label>
      <button type="submit">{person.name ? 'Rename' : 'Save name'}</button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function AddPhotos({ person, onDone }: { person: Person; onDone(p: Person): void }) {
  const api = useApi();
  const photos = usePhotoSet(api);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState('');
  const submit = async () => {
    setError('');
    setBusy(true);
    try {
      const keys = await photos.upload(api);
      const d = await api.query<{ addPersonPhotos: Person }>(
        `mutation($id: UUID!, $k: [String!]!) { addPersonPhotos(personId: $id, photoKeys: $k) { ${PERSON_FIELDS} } }`,
        { id: person.id, k: keys },
      );
      photos.clear();
      onDone(d.addPersonPhotos);
    } catch (e) {
      const message = (e as Error).message;
      setError(photos.blame(message) ? 'Nothing was added: one photo cannot be used (marked above).' : message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <div class="add-photos">
      <PhotoField set={photos} label="Add photos" hint="More photos of this face help find them in every video." />
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
      {photos.photos.length > 0 && (
        <button type="button" disabled={busy} onClick={() => void submit()}>
          {busy ? 'Adding…' : `Add ${plural(photos.photos.length, 'photo')}`}
        </button>
      )}
    </div>
  );
}

function Merge({ person, others }: { person: Person; others: Other[] }) {
  const api = useApi();
  const [error, setError] = useState('');
  if (!others.length) return null;
  return (
    <form
      class="inline"
      onSubmit={async (e) => {
        e.preventDefault();
        const target = String(new FormData(e.currentTarget).get('target') ?? '');
        if (!target) return;
        setError('');
        try {
          const d = await api.query<{ mergePersons: Person }>(
            `mutation($s: UUID!, $t: UUID!) { mergePersons(sourceId: $s, targetId: $t) { id } }`,
            { s: person.id, t: target },
          );
          navigate(`/people/${d.mergePersons.id}`);
        } catch (err) {
          setError((err as Error).message);
        }
      }}
    >
      <label>
        Merge into
        <select name="target" aria-label="Merge into" required>
          <option value="">Choose…</option>
          {others.map((o) => (
            <option value={o.id}>{personOption(o)}</option>
          ))}
        </select>
      </label>
      <button type="submit" class="secondary">
        Merge
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}

function Delete({ person }: { person: Person }) {
  const api = useApi();
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState('');
  const remove = async () => {
    setError('');
    try {
      await api.query(`mutation($id: UUID!) { deletePersonById(input: {id: $id}) { person { id } } }`, {
        id: person.id,
      });
      navigate('/people', { replace: true });
    } catch (e) {
      setError((e as Error).message);
      setConfirming(false);
    }
  };
  return (
    <div class="delete">
      {confirming ? (
        <>
          <span>Delete {personName(person)} and their enrolment photos? Their faces in videos stay, unassigned.</span>{' '}
          <button type="button" class="danger" onClick={() => void remove()}>
            Delete for good
          </button>
          <button type="button" class="quiet" onClick={() => setConfirming(false)}>
            Keep
          </button>
        </>
      ) : (
        <button type="button" class="quiet danger-text" onClick={() => setConfirming(true)}>
          Delete person
        </button>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}

function FaceItem({
  face: f,
  n,
  person,
  others,
  onMoved,
}: {
  face: Face;
  n: number;
  person: Person;
  others: Other[];
  onMoved(message: string): void;
}) {
  const api = useApi();
  const [error, setError] = useState('');
  const where = f.photoKey ? 'Enrolment photo' : `${f.video?.title ?? 'A video'} at ${clock(f.frameS ?? 0)}`;
  return (
    <li>
      <span class="face">
        {f.thumbnailUrl ? <img src={f.thumbnailUrl} alt={`Face ${n}`} loading="lazy" /> : <span class="placeholder" />}
      </span>
      <span class="where">{f.videoId ? <a href={playerUrl(f.videoId, f.frameS ?? 0)}>{where}</a> : where}</span>
      {!f.photoKey && (
        <form
          class="move"
          onSubmit={async (e) => {
            e.preventDefault();
            const to = String(new FormData(e.currentTarget).get('to') ?? '');
            if (to === person.id) return;
            setError('');
            try {
              await api.query(`mutation($f: UUID!, $p: UUID) { assignFace(faceId: $f, personId: $p) { id } }`, {
                f: f.id,
                p: to || null,
              });
              const target = others.find((o) => o.id === to);
              onMoved(`Face ${n} moved to ${target ? personOption(target) : 'nobody'}.`);
            } catch (err) {
              setError((err as Error).message);
            }
          }}
        >
          <select name="to" aria-label={`Who is face ${n}?`} defaultValue={person.id}>
            <option value={person.id}>{personName(person)}</option>
            {others.map((o) => (
              <option value={o.id}>{personOption(o)}</option>
            ))}
            <option value="">Nobody (not a known person)</option>
          </select>
          <button type="submit" class="secondary" aria-label={`Move face ${n}`}>
            Move
          </button>
        </form>
      )}
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </li>
  );
}
