/*
 * The library: upload (drop or pick files), then every video with its
 * thumbnail, duration and state, kept live by the videoChanged subscription
 * (no polling, no reload); rename and delete.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { useApi } from '../app.tsx';
import { eachPage, pageOf, PAGE_SIZE, type Page } from '../connection.ts';
import { bytes, clock, stageLabel } from '../format.ts';
import { send } from '../send.ts';
import { SUBTITLE_TYPES, VIDEO_TYPES } from '../../../../core/media-types.ts';
import { planUploads, type Refusal } from '../upload.ts';

const VIDEO_FIELDS = `id title filename state stage progress error durationS createdAt
  scenes(first: 1, orderBy: START_S_ASC) { nodes { thumbnailUrl } }`;

interface Video {
  id: string;
  title: string;
  filename: string | null;
  state: string;
  stage: string | null;
  progress: number;
  error: string | null;
  durationS: number | null;
  createdAt: string;
  scenes: { nodes: { thumbnailUrl: string | null }[] };
}

interface Transfer {
  id: number;
  name: string;
  size: number;
  subtitles?: string;
  /** 0..1 of the bytes sent. */
  sent: number;
  status: 'uploading' | 'registering' | 'done' | 'failed';
  message?: string;
  /** Set once createVideo answered: the row whose state the line then follows. */
  videoId?: string;
}

export function Library() {
  const api = useApi();
  const [videos, setVideos] = useState<Video[] | null>(null);
  const [loadError, setLoadError] = useState('');

  useEffect(() => {
    let alive = true;
    // Newest first, shown as each page arrives.
    eachPage(
      (after) =>
        api
          .query<{ allVideos: Page<Video> }>(
            `query($first: Int!, $after: Cursor) { ${pageOf('allVideos', VIDEO_FIELDS, 'orderBy: CREATED_AT_DESC')} }`,
            { first: PAGE_SIZE, after },
          )
          .then((d) => d.allVideos),
      (nodes) => {
        if (!alive) return false;
        setVideos((prev) => merge(nodes, prev ?? []));
      },
    ).catch((e: Error) => alive && setLoadError(e.message));
    // Every change to one of my videos (new, progressing, indexed, failed),
    // with the row as it now is.
    const stop = api.subscribe<{ videoChanged: { videoId: string; video: Video | null } }>(
      `subscription { videoChanged { videoId event video { ${VIDEO_FIELDS} } } }`,
      {},
      ({ videoChanged: c }) =>
        setVideos((prev) => {
          const list = prev ?? [];
          if (!c.video) return list.filter((v) => v.id !== c.videoId);
          return merge([c.video], list);
        }),
    );
    return () => {
      alive = false;
      stop();
    };
  }, [api]);

  const upsert = (v: Video) => setVideos((prev) => merge([v], prev ?? []));
  const remove = (id: string) => setVideos((prev) => (prev ?? []).filter((v) => v.id !== id));

  return (
    <>
      <Uploader onCreated={upsert} videos={videos} />
      <section aria-labelledby="library-title">
        <h1 id="library-title">Library</h1>
        {loadError && (
          <p class="error" role="alert">
            {loadError}
          </p>
        )}
        {videos === null && !loadError && <p class="quiet">Loading your videos…</p>}
        {videos?.length === 0 && <p class="quiet">No videos yet. Drop one above to start.</p>}
        {videos && videos.length > 0 && (
          <ul class="videos">
            {videos.map((v) => (
              <VideoCard key={v.id} video={v} onChanged={upsert} onDeleted={remove} />
            ))}
          </ul>
        )}
      </section>
    </>
  );
}

/** Newer rows replace older ones by id; the list stays newest first. */
function merge(incoming: Video[], list: Video[]): Video[] {
  const byId = new Map(list.map((v) => [v.id, v]));
  for (const v of incoming) byId.set(v.id, v);
  return [...byId.values()].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
}

function VideoCard({
  video: v,
  onChanged,
  onDeleted,
}: {
  video: Video;
  onChanged(v: Video): void;
  onDeleted(id: string): void;
}) {
  const api = useApi();
  const [editing, setEditing] = useState(false);
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState('');
  const thumb = v.scenes.nodes[0]?.thumbnailUrl;
  const busy = v.state !== 'indexed' && v.state !== 'failed';

  const rename = async (title: string) => {
    setError('');
    try {
      const d = await api.query<{ updateVideoById: { video: Video } }>(
        `mutation($id: UUID!, $title: String!) { updateVideoById(input: {id: $id, videoPatch: {title: $title}}) { video { ${VIDEO_FIELDS} } } }`,
        { id: v.id, title },
      );
      onChanged(d.updateVideoById.video);
      setEditing(false);
    } catch (e) {
      setError((e as Error).message);
    }
  };
  const remove = async () => {
    setError('');
    try {
      await api.query(`mutation($id: UUID!) { deleteVideoById(input: {id: $id}) { video { id } } }`, { id: v.id });
      onDeleted(v.id);
    } catch (e) {
      setError((e as Error).message);
      setConfirming(false);
    }
  };

  return (
    <li class={`video ${v.state}`}>
      <a class="thumb" href={`/videos/${v.id}`} tabIndex={-1} aria-hidden="true">
        {thumb ? <img src={thumb} alt="" loading="lazy" /> : <span class="placeholder" />}
        {v.durationS != null && <span class="duration">{clock(v.durationS)}</span>}
      </a>
      <div class="meta">
        {editing ? (
          <form
            class="rename"
            onSubmit={(e) => {
              e.preventDefault();
              const title = String(new FormData(e.currentTarget).get('title') ?? '').trim();
              if (title) void rename(title);
            }}
          >
            <input name="title" aria-label={`New title for ${v.title}`} defaultValue={v.title} maxLength={500} />
            <button type="submit">Save</button>
            <button type="button" class="quiet" onClick={() => setEditing(false)}>
              Cancel
            </button>
          </form>
        ) : (
          <h2>
            <a href={`/videos/${v.id}`}>{v.title}</a>
          </h2>
        )}
        <p class="state" aria-live="polite">
          <span class={`badge ${v.state}`}>{stageLabel(v.state, v.stage)}</span>
          {busy && <span class="pct">{Math.round(v.progress * 100)}%</span>}
        </p>
        {busy && <progress value={v.progress} max={1} aria-label={`${v.title} processing`} />}
        {v.state === 'failed' && v.error && (
          <p class="error" role="alert">
            {v.error}
          </p>
        )}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        {!editing && (
          <div class="actions">
            <button type="button" class="quiet" onClick={() => setEditing(true)} aria-label={`Rename ${v.title}`}>
              Rename
            </button>
            {confirming ? (
              <>
                <button type="button" class="danger" onClick={() => void remove()}>
                  Delete for good
                </button>
                <button type="button" class="quiet" onClick={() => setConfirming(false)}>
                  Keep
                </button>
              </>
            ) : (
              <button type="button" class="quiet" onClick={() => setConfirming(true)} aria-label={`Delete ${v.title}`}>
                Delete
              </button>
            )}
          </div>
        )}
      </div>
    </li>
  );
}

function Uploader({ onCreated, videos }: { onCreated(v: Video): void; videos: Video[] | null }) {
  const api = useApi();
  const [transfers, setTransfers] = useState<Transfer[]>([]);
  const [refused, setRefused] = useState<Refusal<File>[]>([]);
  const [over, setOver] = useState(false);
  const next = useRef(0);
  const { maxBytes, contentTypes } = api.config.uploads;
  // Extensions too: a picker filters by type, and browsers know no type for .mkv or .mts.
  const accept = [...contentTypes, ...Object.keys(VIDEO_TYPES), ...Object.keys(SUBTITLE_TYPES)].join(',');

  const update = (id: number, patch: Partial<Transfer>) =>
    setTransfers((ts) => ts.map((t) => (t.id === id ? { ...t, ...patch } : t)));

  const start = (files: File[]) => {
    const plan = planUploads(files, { maxBytes, contentTypes }, bytes);
    setRefused(plan.refused);
    for (const u of plan.uploads) {
      const id = ++next.current;
      setTransfers((ts) => [
        {
          id,
          name: u.video.name,
          size: u.video.size + (u.subtitles?.size ?? 0),
          subtitles: u.subtitles?.name,
          sent: 0,
          status: 'uploading',
        },
        ...ts.filter((t) => t.status !== 'done').slice(0, 20),
      ]);
      void (async () => {
        try {
          const total = u.video.size + (u.subtitles?.size ?? 0);
          let subtitleKey: string | null = null;
          if (u.subtitles) {
            subtitleKey = await send(api, u.subtitles, u.subtitleType!, () => {});
          }
          const done = u.subtitles?.size ?? 0;
          const objectKey = await send(api, u.video, u.videoType, (n) => update(id, { sent: (done + n) / total }));
          update(id, { sent: 1, status: 'registering' });
          const d = await api.query<{ createVideo: Video }>(
            `mutation($k: String!, $t: String, $s: String) { createVideo(objectKey: $k, title: $t, subtitleKey: $s) { ${VIDEO_FIELDS} } }`,
            { k: objectKey, t: u.title, s: subtitleKey },
          );
          onCreated(d.createVideo);
          update(id, { status: 'done', videoId: d.createVideo.id });
        } catch (e) {
          update(id, { status: 'failed', message: (e as Error).message });
        }
      })();
    }
  };

  return (
    <section aria-labelledby="upload-title" class="upload">
      <h2 id="upload-title" class="visually-hidden">
        Upload
      </h2>
      <label
        class={`drop${over ? ' over' : ''}`}
        onDragOver={(e) => {
          e.preventDefault();
          setOver(true);
        }}
        onDragLeave={() => setOver(false)}
        onDrop={(e) => {
          e.preventDefault();
          setOver(false);
          start([...(e.dataTransfer?.files ?? [])]);
        }}
      >
        <input
          class="visually-hidden"
          type="file"
          multiple
          accept={accept}
          aria-label="Upload videos"
          onChange={(e) => {
            const input = e.currentTarget;
            start([...(input.files ?? [])]);
            input.value = '';
          }}
        />
        <strong>Drop videos here, or choose files</strong>
        <span>A .srt, .vtt or .ass with the same name is attached as subtitles. Up to {bytes(maxBytes)} per file.</span>
      </label>
      {refused.length > 0 && (
        <ul class="refused" role="alert">
          {refused.map((r) => (
            <li>
              <strong>{r.file.name}</strong> was not uploaded: {r.reason}.
            </li>
          ))}
        </ul>
      )}
      {transfers.length > 0 && (
        <ul class="transfers">
          {transfers.map((t) => (
            <li class={t.status}>
              <span class="name">
                {t.name}
                {t.subtitles && <span class="with"> with subtitles {t.subtitles}</span>}
              </span>
              <span class="size">{bytes(t.size)}</span>
              {t.status === 'uploading' && <progress value={t.sent} max={1} aria-label={`Uploading ${t.name}`} />}
              <span class="status">{transferStatus(t, videos)}</span>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

/** A finished upload follows its video's state, so the line never says "processing" after it is done. */
function transferStatus(t: Transfer, videos: Video[] | null): string {
  if (t.status === 'uploading') return `${Math.round(t.sent * 100)}%`;
  if (t.status === 'registering') return 'queueing…';
  if (t.status === 'failed') return `failed: ${t.message}`;
  const v = videos?.find((x) => x.id === t.videoId);
  if (v?.state === 'indexed') return 'uploaded and indexed';
  if (v?.state === 'failed') return 'uploaded; processing failed (see below)';
  if (videos && !v) return 'uploaded; the video was deleted';
  return 'uploaded, processing below';
}
