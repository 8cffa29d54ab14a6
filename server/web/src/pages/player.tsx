/*
 * The player: the video from the requested moment, and below it the scenes
 * as a timeline of keyframes and what is said as a transcript; the scene and
 * the line being played are highlighted and a click on either seeks there.
 * The transcript is also the video's captions track.
 */
import { Component } from 'preact';
import { useEffect, useMemo, useRef, useState } from 'preact/hooks';
import { useApi } from '../app.tsx';
import { allNodes, pageOf, PAGE_SIZE, type Page } from '../connection.ts';
import { formatTranscript, type TranscriptLine } from '../../../../core/transcript.ts';
import { clock, stageLabel, timeRange } from '../format.ts';
import { playerUrl } from '../router.ts';
import { queryParts } from '../words.ts';

interface Scene {
  id: string;
  ordinal: number;
  startS: number;
  endS: number;
  thumbnailUrl: string | null;
  previewUrl: string | null;
}
interface Video {
  id: string;
  title: string;
  state: string;
  stage: string | null;
  durationS: number | null;
  error: string | null;
  videoCodec: string | null;
  contentType: string | null;
  /** original, pending (a copy browsers play is being made), ready (scenes' previewUrl is that copy), failed. */
  playbackState: string | null;
  /** What processing had to leave out or could not do, e.g. why no copy could be made. */
  notes: (string | null)[];
  language: string | null;
  transcript: TranscriptLine[];
  scenes: { nodes: Scene[] };
}

export function Player({ id, t, q }: { id: string; t: number; q: string }) {
  const api = useApi();
  const [video, setVideo] = useState<Video | null | undefined>(undefined);
  const [error, setError] = useState('');
  const [now, setNow] = useState(t);
  // Why the <video> gave up, if it did: the file's format, or loading it.
  const [failure, setFailure] = useState<'format' | 'load' | null>(null);
  const el = useRef<HTMLVideoElement>(null);
  // Bumped when the video's playable copy is finished (or fails): load it again.
  const [generation, setGeneration] = useState(0);
  // The copy's state as last loaded (null while a load is on its way), and
  // the last one the subscription told while it was.
  const loaded = useRef<{ state: string | null } | null>(null);
  const heard = useRef<{ state: string | null } | null>(null);
  // Set when this video is loaded again for its copy: it then starts where the
  // user had gone in the timeline meanwhile, not at the requested moment.
  const reloaded = useRef(false);
  const reload = () => {
    reloaded.current = true;
    setGeneration((g) => g + 1);
  };

  useEffect(() => {
    heard.current = null;
    reloaded.current = false;
    const stop = api.subscribe<{ videoChanged: { video: { playbackState: string | null } | null } }>(
      `subscription($id: UUID!) { videoChanged(videoId: $id) { video { playbackState } } }`,
      { id },
      ({ videoChanged: c }) => {
        const state = c.video?.playbackState ?? null;
        if (!loaded.current) heard.current = { state };
        else if (state !== loaded.current.state) reload();
      },
    );
    return stop;
  }, [api, id]);

  useEffect(() => {
    // Only the latest load may land: an earlier one, still on its way, may
    // carry the state from before the copy was finished.
    let latest = true;
    loaded.current = null;
    // Every scene, however many: the timeline and the scene being played
    // need all of them (a two-hour video can have thousands).
    let head: Omit<Video, 'scenes'> | null = null;
    allNodes(async (after) => {
      // The transcript comes once, with the first page of scenes.
      const d = await api.query<{ videoById: (Omit<Video, 'scenes'> & { scenes: Page<Scene> }) | null }>(
        `query($id: UUID!, $first: Int!, $after: Cursor) { videoById(id: $id) {
           id title state stage durationS error videoCodec contentType playbackState notes language
           ${after ? '' : 'transcript { startS endS text }'}
           ${pageOf('scenes', 'id ordinal startS endS thumbnailUrl previewUrl', 'orderBy: START_S_ASC')} } }`,
        { id, first: PAGE_SIZE, after },
      );
      head = d.videoById && { ...d.videoById, transcript: head?.transcript ?? d.videoById.transcript ?? [] };
      return d.videoById?.scenes ?? { nodes: [], pageInfo: { hasNextPage: false, endCursor: null } };
    }).then(
      (nodes) => {
        if (!latest) return;
        const state = head?.playbackState ?? null;
        loaded.current = { state };
        // Cleared with the new source, not before it: the old one would
        // only fail again meanwhile.
        setFailure(null);
        setVideo(head && { ...head, scenes: { nodes } });
        // A change told while loading, that this load may not have seen.
        const told = heard.current;
        heard.current = null;
        if (told && told.state !== state) reload();
      },
      (e: Error) => latest && setError(e.message),
    );
    return () => {
      latest = false;
    };
  }, [api, id, generation]);

  // The transcript as the <video>'s captions (off until chosen in its
  // controls: many videos have their words burned in already). A track added
  // by script cannot be removed, so each element keeps one and its cues are
  // replaced when the video loads again.
  useEffect(() => {
    const v = el.current;
    if (!v || !video) return;
    let track = captions.get(v);
    if (!track) {
      track = v.addTextTrack('captions', 'Transcript', video.language ?? '');
      captions.set(v, track);
    }
    // A track the viewer switched off lists no cues; it would keep the old
    // ones beside the new, so it is read with its cues for the swap.
    const mode = track.mode;
    if (mode === 'disabled') track.mode = 'hidden';
    for (const c of [...(track.cues ?? [])]) track.removeCue(c);
    for (const l of video.transcript) if (l.endS > l.startS) track.addCue(new VTTCue(l.startS, l.endS, l.text));
    track.mode = mode;
  }, [video, failure]);

  // A new ?t= for the same video (a second result in it) seeks without reloading.
  useEffect(() => {
    const v = el.current;
    if (v && v.readyState >= 1) seek(v, t);
  }, [t]);

  if (error)
    return (
      <p class="error" role="alert">
        {error}
      </p>
    );
  if (video === undefined) return <p class="quiet">Loading…</p>;
  if (video === null)
    return (
      <section class="empty">
        <h1>Video not found</h1>
        <p>
          It may have been deleted. <a href="/">Back to the library</a>
        </p>
      </section>
    );

  const scenes = video.scenes.nodes;
  // Every scene's preview URL is the same signed video URL with a #t= fragment.
  const src = scenes[0]?.previewUrl?.replace(/#.*$/, '');
  const current = scenes.findLastIndex((s) => s.startS <= now + 0.05);
  // Where the file cannot play here, the scene's keyframe stands in for it.
  const still = scenes[Math.max(0, current)]?.thumbnailUrl;
  const seekTo = (t: number) => {
    const v = el.current;
    // Without a playable video the timeline still moves through the scenes.
    if (!v) return setNow(t);
    seek(v, t);
    v.play().catch(() => {});
  };

  return (
    <section class="player" aria-labelledby="player-title">
      <h1 id="player-title">{video.title}</h1>
      {src && failure === 'format' ? (
        still && <img class="still" src={still} alt="" />
      ) : src ? (
        <video
          ref={el}
          src={src}
          controls
          preload="auto"
          playsInline
          onLoadedMetadata={(e) => {
            // A picture the browser cannot decode (HEVC, MPEG-4 Part 2 or
            // ProRes in MP4, in Chromium) plays as sound over black with no
            // error: no picture size is the only sign.
            if (e.currentTarget.videoWidth === 0) {
              e.currentTarget.pause();
              return setFailure('format');
            }
            seek(e.currentTarget, reloaded.current ? now : t);
            e.currentTarget.play().catch(() => {});
          }}
          // Not while a new source loads: the element then reports 0 before it
          // knows anything, which would move the timeline back to the start.
          onTimeUpdate={(e) => e.currentTarget.readyState >= 1 && setNow(e.currentTarget.currentTime)}
          onSeeked={(e) => setNow(e.currentTarget.currentTime)}
          onError={(e) => {
            const code = e.currentTarget.error?.code;
            setFailure(
              code === MediaError.MEDIA_ERR_SRC_NOT_SUPPORTED || code === MediaError.MEDIA_ERR_DECODE
                ? 'format'
                : 'load',
            );
          }}
        />
      ) : (
        <p class="notice">
          {video.state === 'failed'
            ? `Processing failed: ${video.error ?? 'unknown error'}`
            : `Not playable yet (${stageLabel(video.state, video.stage)}).`}
        </p>
      )}
      {src && failure && (
        <p class="notice" role="alert">
          {failure === 'format'
            ? `This browser cannot play this video (${[video.videoCodec, video.contentType].filter(Boolean).join(', ') || 'unknown format'}). `
            : 'The video could not be loaded; reload the page to try again. '}
          {failure === 'format' &&
            video.playbackState === 'pending' &&
            'A copy it can play is being made and will play here when ready. '}
          {failure === 'format' &&
            video.playbackState === 'failed' &&
            `${video.notes.find((n) => n?.startsWith('No browser-playable copy')) ?? 'No copy it can play could be made.'} `}
          {failure === 'format' && (
            <>
              <a href={src} download>
                Download it
              </a>{' '}
              to watch it in a desktop player; the scenes below show where each moment is.
            </>
          )}
        </p>
      )}
      {scenes.length > 0 && (
        <>
          <p class="quiet">
            {current >= 0
              ? `Scene ${current + 1} of ${scenes.length} · ${timeRange(scenes[current]!.startS, scenes[current]!.endS)}`
              : `${scenes.length} scenes`}
            {video.durationS != null && ` · ${clock(video.durationS)} in all`}
          </p>
          <ol class="timeline" aria-label="Scenes">
            {scenes.map((s, i) => (
              <li key={s.id}>
                <button
                  type="button"
                  aria-current={i === current ? 'true' : undefined}
                  aria-label={`Scene ${i + 1}, ${timeRange(s.startS, s.endS)}`}
                  onClick={() => seekTo(s.startS)}
                >
                  {s.thumbnailUrl ? <img src={s.thumbnailUrl} alt="" loading="lazy" /> : <span class="placeholder" />}
                  <span>{clock(s.startS)}</span>
                </button>
              </li>
            ))}
          </ol>
        </>
      )}
      {video.transcript.length > 0 && (
        <Transcript id={id} lines={video.transcript} title={video.title} now={now} query={q} onSeek={seekTo} />
      )}
    </section>
  );
}

const captions = new WeakMap<HTMLVideoElement, TextTrack>();

/** The transcript as a subtitle file, named after the video, made here: nothing is fetched. */
function download(lines: TranscriptLine[], format: 'srt' | 'vtt', title: string) {
  const body = formatTranscript(lines, format);
  const url = URL.createObjectURL(new Blob([body], { type: format === 'srt' ? 'application/x-subrip' : 'text/vtt' }));
  const a = document.createElement('a');
  a.href = url;
  // Characters file systems refuse become "_"; control characters go.
  a.download = `${
    title
      .replace(/[\\/:*?"<>|]+/g, '_')
      .replace(/\p{Cc}+/gu, '')
      .trim() || 'transcript'
  }.${format}`;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/**
 * The line being said; in a pause, the one about to be said (a moment opens
 * at its scene's start, often just before the first word), not the last one.
 */
function currentLine(lines: TranscriptLine[], now: number): number {
  const i = lines.findLastIndex((l) => l.startS <= now + 0.05);
  if (i >= 0 && lines[i]!.endS > now) return i;
  return i + 1 < lines.length && lines[i + 1]!.startS - now <= 2 ? i + 1 : -1;
}

interface TranscriptProps {
  /** The video's id: each line links to its moment. */
  id: string;
  lines: TranscriptLine[];
  title: string;
  now: number;
  query: string;
  onSeek: (t: number) => void;
}

/**
 * The player renders on every tick of the clock (about four a second); a
 * two-hour transcript (1,500 lines) is drawn again only when the line being
 * said changes (BENCHMARKS.md). onSeek only moves the video, so a newer one
 * can wait for the next drawing.
 */
class Transcript extends Component<TranscriptProps> {
  shouldComponentUpdate(next: TranscriptProps) {
    const p = this.props;
    return (
      next.lines !== p.lines ||
      next.query !== p.query ||
      next.title !== p.title ||
      currentLine(next.lines, next.now) !== currentLine(p.lines, p.now)
    );
  }
  render() {
    return <TranscriptList {...this.props} />;
  }
}

/** Lines drawn at once: the first around the line being said, then more in each later task. */
const LINES_PER_TASK = 200;

/**
 * What is said, line by line; the line being played is highlighted and kept
 * in view inside the list, and the words of the search that led here marked.
 */
function TranscriptList({ id, lines, title, now, query, onSeek }: TranscriptProps) {
  const list = useRef<HTMLOListElement>(null);
  const current = currentLine(lines, now);
  // A two-hour talk has ~1,500 lines, ~0.35 s of work to draw: the lines
  // around the one being said come first, the rest in later tasks (the list
  // keeps its place as lines are added above it: scroll anchoring).
  const [[from, to], setRange] = useState(() => {
    const start = Math.max(0, Math.min(current, lines.length) - LINES_PER_TASK / 4);
    return [start, Math.min(lines.length, start + LINES_PER_TASK)] as const;
  });
  // Until every line is drawn; new lines (the video loaded again) extend or trim the range the same way.
  useEffect(() => {
    if (from === 0 && to === lines.length) return;
    const next = setTimeout(() =>
      setRange([Math.max(0, from - LINES_PER_TASK / 2), Math.min(lines.length, to + LINES_PER_TASK / 2)]),
    );
    return () => clearTimeout(next);
  }, [from, to, lines.length]);
  // Each line marked once per transcript and query, when first drawn, not on every tick of the clock.
  const texts = useMemo(() => new Array<ReturnType<typeof marked>>(lines.length), [lines, query]);
  const marked = (text: string) => queryParts(text, query).map((p) => (p.hit ? <mark>{p.text}</mark> : p.text));
  useEffect(() => {
    const box = list.current;
    const item = box?.children[current - from] as HTMLElement | undefined;
    if (!box || !item) return;
    // The list scrolls, never the page: scrollIntoView would move both.
    if (item.offsetTop < box.scrollTop || item.offsetTop + item.offsetHeight > box.scrollTop + box.clientHeight)
      box.scrollTop = item.offsetTop - box.clientHeight / 3;
  }, [current, from]);
  return (
    <section class="transcript" aria-labelledby="transcript-title">
      <div class="transcript-head">
        <h2 id="transcript-title">Transcript</h2>
        {(['srt', 'vtt'] as const).map((f) => (
          <button
            key={f}
            type="button"
            class="quiet"
            aria-label={`Download the transcript as ${f === 'srt' ? 'SubRip' : 'WebVTT'} subtitles (.${f})`}
            onClick={() => download(lines, f, title)}
          >
            .{f}
          </button>
        ))}
      </div>
      <ol
        ref={list}
        aria-labelledby="transcript-title"
        // One handler for every line, not one per line (a long talk has thousands).
        onClick={(e) => {
          const a = (e.target as Element).closest<HTMLElement>('a[data-t]');
          if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
          e.preventDefault();
          onSeek(Number(a.dataset.t));
        }}
      >
        {lines.slice(from, to).map((l, k) => {
          const i = from + k;
          return (
            <li key={i}>
              {/* A link to the moment (to copy, or to open in a new tab); a plain click seeks in place (the list's handler). */}
              <a
                href={playerUrl(id, l.startS, query)}
                data-t={l.startS}
                aria-current={i === current ? 'true' : undefined}
              >
                <span class="time">{clock(l.startS)}</span> {(texts[i] ??= marked(l.text))}
              </a>
            </li>
          );
        })}
      </ol>
    </section>
  );
}

function seek(v: HTMLVideoElement, t: number) {
  const end = Number.isFinite(v.duration) ? v.duration : t;
  v.currentTime = Math.max(0, Math.min(t, end));
}
