/*
 * The stage table: every stage of indexing is defined once, with the stages
 * whose products it reads (`needs`), the columns it writes and the model it
 * depends on. indexVideo runs them all on a fresh video; reindexVideo runs
 * only the stages that were skipped for want of a model (missing) or whose
 * model changed (stale), plus every stage that reads their products, through
 * the same code. A stage that does not run but is needed by one that does is
 * rebuilt from the stored rows (`load`), so a stage filled in later writes
 * exactly what a fresh index with its model present would have written.
 *
 * Nothing here writes to the database except progress: the task hands the
 * result to one SQL step function, so a crash leaves the last committed state.
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import crypto from 'node:crypto';
import { faceCropKey, keyframeKey } from '../../core/storage/keys.ts';
import { StoragePermanentError } from '../../core/storage/types.ts';
import {
  assertFullyDecoded,
  detectScenes,
  extractKeyframes,
  frameImage,
  KEYFRAME_MAX_W,
  keyframeOf,
  probe,
  type DetectWindow,
  type KeyframeRequest,
  type KeyframeTimes,
  type RunLimits,
  type SceneDetection,
} from '../media/index.ts';
import { CHANGE_FPS } from '../media/changes.ts';
import type { ImageInput } from '../ml/image.ts';
import type { TextReader } from '../ml/types.ts';
import { cropFace, decodeImage } from '../ml/faces.ts';
import type { DetectedFace } from '../ml/types.ts';
import { mediaLimits, type PipelineContext, type VideoRow } from './context.ts';
import { assignTranscript, chooseTextSamples, chunkEnd, planScenes, textChangeCuts, type Span } from './scenes.ts';
import { fetchVideo, transcribe, withWorkDir, type Transcript } from './steps.ts';

export type StageName = 'cut' | 'transcribe' | 'keyframes' | 'embed_text' | 'embed_image' | 'tags' | 'ocr' | 'faces';
/** The stages that depend on a model, and so may be recorded in videos.missing_stages. */
export type SkippableStage = Exclude<StageName, 'cut' | 'keyframes'>;

/** Reports the stage being worked on and how far it is (0..1); SQL maps that onto the video's progress. */
export type Progress = (stage: StageName, done: number) => Promise<void>;

export interface SceneOut {
  ordinal: number;
  start_s: number;
  end_s: number;
  transcript: string;
  ocr_text: string;
  tags: { label: string; score: number }[];
  text_vec: number[] | null;
  image_vec: number[] | null;
  keyframe_key: string | null;
  /** Faces seen in the scene; absent when the faces stage did not run (app_private.faces_write). */
  faces?: FaceOut[];
}

export interface FaceOut {
  id: string;
  frame_s: number;
  /** x, y, w, h as fractions of the frame. */
  box: [number, number, number, number];
  det_score: number;
  embedding: number[];
}

export interface VideoOut {
  transcript_source: Transcript['source'];
  language: string | null;
  asr_model: string | null;
  text_model: string | null;
  image_model: string | null;
  ocr_model: string | null;
  face_model: string | null;
}

/** What videos__index hands to app_private.pipeline_indexed: the complete set of scenes. */
export interface IndexResult extends VideoOut {
  missing_stages: SkippableStage[];
  scenes: SceneOut[];
}

/** What videos__reindex hands to app_private.pipeline_reindexed: only the columns that were recomputed. */
export type ReindexResult = Partial<VideoOut> & {
  missing_stages: SkippableStage[];
  scenes: (Partial<SceneOut> & { ordinal: number })[];
};

/** A scene as stored, read back through app_private.pipeline_stored_scenes. */
export interface StoredScene {
  ordinal: number;
  start_s: number;
  end_s: number;
  transcript: string;
  keyframe_key: string | null;
  image_vec: number[] | null;
}

export type ReindexMode = 'missing' | 'stale';

/** An index chunk's start (app_private.pipeline_chunk_start): seconds into the video, first scene ordinal. */
export interface ChunkStart {
  startS: number;
  ordinal: number;
}

/** One index chunk's product for app_private.pipeline_chunk_done: its scenes and the time they cover. */
export interface IndexChunk {
  start_s: number;
  end_s: number;
  /** Whether this chunk reached the end of the video (then the chunks are assembled). */
  last: boolean;
  /** The stretch of video the chunk's cut stage decoded (s), for its log line; not stored. */
  decoded: { from: number; to: number };
  product: IndexResult;
}

/**
 * An index chunk's cut stage done ahead (prepareCut): its products, with the
 * frames it decoded and read in `dir`/frames.
 */
export interface PreparedCut {
  dir: string;
  startS: number;
  /** The OCR model that read its frames (it can add cuts), or null: a chunk is cut again under another. */
  reader: string | null;
  textSamples: number[];
  keyframes: KeyframeTimes;
  spans: Span[];
  range: NonNullable<Work['range']>;
  /** By file name in `dir`/frames: whether it could be decoded, the time it was asked for, its text. */
  frames: { name: string; ok: boolean; at?: number; text?: string }[];
}

/** The state one run of the stages shares: inputs, products of earlier stages, and the output being built. */
interface Work {
  ctx: PipelineContext;
  video: VideoRow;
  dir: string;
  limits: RunLimits;
  signal?: AbortSignal;
  progress: Progress;
  /** The video file, downloaded on first use: a re-embedding of stored keyframes never needs it. */
  file(): Promise<string>;
  /**
   * Per scene, the frames that stages reading the picture look at (the
   * keyframe first, then samples through the scene), decoded once on first
   * use and shared by every such stage.
   */
  sampledFrames(): Promise<SampledFrame[][]>;
  /** Where this job's scenes start, and the ordinal of its first scene (0, 0 for a whole video). */
  chunk: ChunkStart;
  /** What the cut stage covered: its scenes' extent, and whether it reached the video's end. */
  range: { start: number; end: number; last: boolean; decoded: { from: number; to: number } } | null;
  /** The transcript the transcribe job stored (videos__index), if any. */
  storedTranscript: Transcript | null;
  /** The cut stage of this chunk, done while its speech was recognised (cuts-ahead.ts), if any. */
  prepared: PreparedCut | null;
  /** Settled, mutually different frames worth reading (detectScenes); null until the video was analysed. */
  textSamples: number[] | null;
  /** Where seeks can start, as the cut pass met them: frames in one GOP are taken in one decode. */
  keyframes: KeyframeTimes | undefined;
  /** On-screen text already read, by frame file: no frame is read twice. */
  readCache: Map<string, string>;
  /** Frames already extracted (or found impossible to), by file: no frame is decoded twice. */
  extracted: Map<string, boolean>;
  /** The time each extracted frame was asked for (extractKeyframes' `at`), by file, where known. */
  extractedAt: Map<string, number>;
  /** The frame each thumbnail-sized keyframe was copied from (up to FRAME_MAX_W wide), by keyframe file. */
  frameOf: Map<string, string>;
  spans: Span[];
  texts: string[];
  frames: (string | null)[];
  imageVecs: (Float32Array | null)[];
  scenes: (Partial<SceneOut> & { ordinal: number })[];
  out: Partial<VideoOut>;
}

/** A decoded frame and the time it was taken from (nominal: the extractor may step past a black frame). */
interface SampledFrame {
  file: string;
  t: number;
}

type Status = 'done' | 'missing';

/** A stage's work handed to threads: finish() waits for it and writes its products; cancel() drops what has not begun. */
interface Deferred {
  finish(): Promise<Status>;
  cancel(): void;
}

interface Stage {
  name: StageName;
  /** Stages whose products this one reads. */
  needs: StageName[];
  /** Columns it writes, for readers of this table; the code below writes exactly these. */
  writes: string[];
  /** Its work runs on threads of its own: run() returns a Deferred, begun as soon as `needs` are done. */
  beginsEarly?: boolean;
  /** Whether its model is present now (stages without a model are always available). */
  available?(ctx: PipelineContext): Promise<boolean>;
  /** Whether the stored result came from a model other than the configured one. */
  stale?(ctx: PipelineContext, video: VideoRow): Promise<boolean>;
  /**
   * Runs the stage, or, for a stage whose work runs on threads of its own,
   * hands that work over and returns what completes it (Deferred). Such a
   * stage begins as soon as the stages it needs are done and completes at
   * its place in the table, so its threads work while the stages between
   * run on this one.
   */
  run(w: Work): Promise<Status | Deferred>;
  /** Rebuilds its products from the stored scenes when it does not run but a later stage needs them. */
  load?(w: Work, stored: StoredScene[]): Promise<void>;
}

/**
 * OCR cost bound: besides one frame per scene, at most this many frames per
 * minute of video are read (about 0.3-0.8 s each on a CPU, BENCHMARKS.md).
 * A slide deck changing every 6 s needs 10; a screen recording with a busy
 * pointer would otherwise ask for dozens.
 */
export const OCR_EXTRA_FRAMES_PER_MIN = 12;
/**
 * Frames handed to the face threads and not yet answered, at most (see the
 * faces stage): ~1 MB each at keyframe width, 0.3-0.9 s of a thread each.
 */
const FACES_AHEAD = 24;
/** Keyframes are small JPEGs; anything bigger in their place is not ours. */
const KEYFRAME_MAX_BYTES = 32 * 1024 * 1024;

const toArray = (v: Float32Array) => Array.from(v, (x) => Math.fround(x));

/** Calls the model on the non-empty inputs only and puts each answer back at its input's index. */
async function mapPresent<T, R>(items: (T | null)[], fn: (present: T[]) => Promise<R[]>): Promise<(R | null)[]> {
  const idx = items.flatMap((x, i) => (x === null ? [] : [i]));
  const got = idx.length ? await fn(idx.map((i) => items[i]!)) : [];
  if (got.length !== idx.length) throw new Error(`model returned ${got.length} results for ${idx.length} inputs`);
  const out: (R | null)[] = items.map(() => null);
  idx.forEach((i, k) => (out[i] = got[k]!));
  return out;
}

export const STAGES: readonly Stage[] = [
  {
    name: 'cut',
    needs: [],
    writes: ['scenes.ordinal', 'scenes.start_s', 'scenes.end_s'],
    /*
     * A chunk job analyses [from, from + INDEX_CHUNK_S) (the whole video when
     * it is shorter) and plans scenes there exactly as over the whole video:
     * `from` is a kept cut of the previous chunk, and planScenes keeps cuts
     * greedily from its start, so every cut it keeps is one the whole-video
     * run keeps. A window that does not reach the video's end reads on
     * past its end to the next cut, by at most CUT_REACH of a chunk, and
     * stops SCENE_MIN_S and two analysis frames past it (planScenes keeps no
     * cut closer than SCENE_MIN_S to a window's end). Its last scene, from
     * that cut on (or, with no cut in reach, from the last cut or split
     * before the window's end), is left to the next chunk, which starts at
     * its start: no scene is cut in two by a chunk edge, the scene that ran
     * past the chunk's end is planned whole (split at its own strongest
     * change, as one job would), and the next chunk decodes again only the
     * second or so past the cut, where it used to decode that whole scene
     * again. Decoding begins CUT_CONTEXT_S early so the detectors have seen
     * the picture before `from` (a cut needs a settled picture before it).
     * A transcribe job may have done all this beside its speech
     * (cuts-ahead.ts); the chunk then takes that.
     */
    async run(w) {
      const p = w.prepared;
      const same = async (cut: PreparedCut) =>
        Math.abs(cut.startS - w.chunk.startS) < 1e-6 &&
        cut.reader === ((await w.ctx.models.textReader())?.modelId ?? null);
      if (p && (await same(p))) await adoptCut(w, p);
      else await cutChunk(w);
      w.scenes = w.spans.map((s, i) => ({ ordinal: w.chunk.ordinal + i, start_s: s.start, end_s: s.end }));
      return 'done';
    },
    async load(w, stored) {
      w.spans = stored.map((s) => ({ start: s.start_s, end: s.end_s }));
    },
  },
  {
    name: 'transcribe',
    needs: ['cut'],
    writes: ['scenes.transcript', 'videos.transcript_source', 'videos.language', 'videos.asr_model'],
    available: async (ctx) => (await ctx.models.speechRecognizer()) !== null,
    async run(w) {
      const t =
        w.storedTranscript ??
        (await transcribe(w.ctx, w.video, await w.file(), w.dir, w.signal, (done) => w.progress('transcribe', done)));
      w.texts = assignTranscript(t.segments, w.spans);
      w.texts.forEach((text, i) => (w.scenes[i]!.transcript = text));
      Object.assign(w.out, { transcript_source: t.source, language: t.language, asr_model: t.model });
      return t.missing ? 'missing' : 'done';
    },
    async load(w, stored) {
      w.texts = stored.map((s) => s.transcript);
    },
  },
  {
    name: 'keyframes',
    needs: ['cut'],
    writes: ['scenes.keyframe_key'],
    async run(w) {
      w.frames = [];
      // Where the picture settled, the first settled frame (which OCR reads
      // anyway) is the keyframe: past any transition, and decoded once.
      const settled = w.textSamples
        ? chooseTextSamples(w.textSamples, w.spans, videoDuration(w), OCR_EXTRA_FRAMES_PER_MIN)
        : [];
      const whole = (i: number) => spanRequest(w, i, `${i}.jpg`);
      const first = (i: number) => settled[i]?.[0];
      // All scenes in one batch; a settled frame that cannot be decoded falls back to the scene's own.
      const jpgs = await extractFrames(
        w,
        w.spans.map((_, i) => (first(i) === undefined ? whole(i) : sampleRequest(w, first(i)!))),
      );
      const retry = jpgs.flatMap((jpg, i) => (jpg === null && first(i) !== undefined ? [i] : []));
      (await extractFrames(w, retry.map(whole))).forEach((jpg, k) => (jpgs[retry[k]!] = jpg));
      // Frames are extracted wide enough for OCR; a keyframe is thumbnail
      // sized, a copy where the frame is wider (OCR may read the frame still).
      for (const [i, jpg] of jpgs.entries()) {
        if (!jpg) continue;
        jpgs[i] = await keyframeOf(jpg, path.join(w.dir, 'frames', `key-${i}.jpg`));
        if (jpgs[i] !== jpg) w.frameOf.set(jpgs[i]!, jpg);
      }
      for (const [i, jpg] of jpgs.entries()) {
        const key = jpg ? keyframeKey(w.video.owner_id, w.video.id, w.scenes[i]!.ordinal) : null;
        if (key) await w.ctx.storage.put(key, await fs.readFile(jpg!), 'image/jpeg');
        w.frames.push(jpg);
        w.scenes[i]!.keyframe_key = key;
      }
      return 'done';
    },
    // The stored JPEG is the very file a fresh extraction would produce.
    async load(w, stored) {
      w.frames = await Promise.all(
        stored.map(async (s) => {
          if (!s.keyframe_key) return null;
          const jpg = path.join(w.dir, 'frames', `${s.ordinal}.jpg`);
          try {
            await w.ctx.storage.download(s.keyframe_key, jpg, { maxBytes: KEYFRAME_MAX_BYTES, signal: w.signal });
            return jpg;
          } catch (e) {
            if (e instanceof StoragePermanentError) return null;
            throw e;
          }
        }),
      );
    },
  },
  {
    name: 'embed_text',
    needs: ['transcribe'],
    writes: ['scenes.text_vec', 'videos.text_model'],
    available: async (ctx) => (await ctx.models.textEmbedder()) !== null,
    async stale(ctx, video) {
      const emb = await ctx.models.textEmbedder();
      return emb !== null && video.transcript_source !== 'none' && video.text_model !== emb.modelId;
    },
    async run(w) {
      const emb = await w.ctx.models.textEmbedder();
      // Nothing to embed is not a missing stage: a silent video needs no text model.
      if (!emb) return w.texts.some((t) => t) ? 'missing' : 'done';
      // Silent scenes stay null, never zero vectors, so they cannot match anything.
      const vecs = await mapPresent(
        w.texts.map((t) => (t.trim() ? t : null)),
        (texts) => emb.embed(texts),
      );
      vecs.forEach((v, i) => (w.scenes[i]!.text_vec = v && toArray(v)));
      w.out.text_model = emb.modelId;
      return 'done';
    },
  },
  {
    name: 'embed_image',
    needs: ['keyframes'],
    writes: ['scenes.image_vec', 'videos.image_model'],
    available: async (ctx) => (await ctx.models.imageEmbedder()) !== null,
    async stale(ctx, video) {
      const emb = await ctx.models.imageEmbedder();
      return emb !== null && video.image_model !== emb.modelId;
    },
    async run(w) {
      const emb = await w.ctx.models.imageEmbedder();
      if (!emb) return 'missing';
      w.imageVecs = await mapPresent(w.frames, (files) => emb.embedImages(files));
      w.imageVecs.forEach((v, i) => (w.scenes[i]!.image_vec = v && toArray(v)));
      w.out.image_model = emb.modelId;
      return 'done';
    },
    async load(w, stored) {
      w.imageVecs = stored.map((s) => (s.image_vec ? Float32Array.from(s.image_vec) : null));
    },
  },
  {
    name: 'tags',
    needs: ['embed_image'],
    writes: ['scenes.tags'],
    available: async (ctx) => (await ctx.models.tagger()) !== null,
    async run(w) {
      const tagger = await w.ctx.models.tagger();
      if (!tagger) return 'missing';
      // Without image vectors there is nothing to tag: because the image model
      // is missing (so is this stage), or because no scene had a picture.
      if (!w.imageVecs.some((v) => v) && !(await w.ctx.models.imageEmbedder())) return 'missing';
      for (const [i, v] of w.imageVecs.entries()) w.scenes[i]!.tags = v ? await tagger.tag(v, 5) : [];
      return 'done';
    },
  },
  {
    name: 'ocr',
    // Through sampledFrames(), which reads the spans and keyframes.
    needs: ['cut', 'keyframes'],
    writes: ['scenes.ocr_text', 'videos.ocr_model'],
    available: async (ctx) => (await ctx.models.textReader()) !== null,
    async run(w) {
      const reader = await w.ctx.models.textReader();
      if (!reader) return 'missing';
      const perScene = await w.sampledFrames();
      for (const [i, frames] of perScene.entries()) {
        // Each distinct frame text once, in frame order.
        const seen: string[] = [];
        for (const { file: f } of frames) {
          const t = await readFrame(w, reader, f);
          if (t && !seen.some((prev) => prev.includes(t))) seen.push(t);
        }
        w.scenes[i]!.ocr_text = seen.join(' ');
      }
      w.out.ocr_model = reader.modelId;
      return 'done';
    },
  },
  {
    name: 'faces',
    // Through sampledFrames(), like ocr: the same decoded frames.
    needs: ['cut', 'keyframes'],
    writes: ['faces.*', 'videos.face_model'],
    beginsEarly: true,
    // FACES=off: the stage never runs and is never "missing" (nothing to fill in later).
    available: async (ctx) => !ctx.config.models.faces || (await ctx.models.faceAnalyzer()) !== null,
    async stale(ctx, video) {
      if (!ctx.config.models.faces || video.face_model === null) return false;
      const a = await ctx.models.faceAnalyzer();
      return a !== null && video.face_model !== a.modelId;
    },
    async run(w) {
      if (!w.ctx.config.models.faces) return 'done';
      const analyzer = await w.ctx.models.faceAnalyzer();
      if (!analyzer) return 'missing';
      const perScene = await w.sampledFrames();
      // The chunk's frames are read, decoded at keyframe width (as the
      // detector's thresholds and minimum size were set) and handed to the
      // face threads, which detect while the encoders run on this thread.
      // At most FACES_AHEAD at a time are handed over and not yet answered:
      // enough to keep a thread busy through an encoder batch, which holds
      // this thread (and so the handing over) for seconds, and no more, so a
      // chunk of a thousand short shots does not queue a thousand pictures.
      const halt = new AbortController();
      const signal = w.signal ? AbortSignal.any([w.signal, halt.signal]) : halt.signal;
      const frames = perScene.flat();
      const found: Promise<DetectedFace[]>[] = new Array(frames.length);
      const ahead = Math.min(FACES_AHEAD, frames.length);
      let next = 0;
      let posted = 0;
      let firstRound = () => {};
      const handedOver = new Promise<void>((resolve) => (firstRound = resolve));
      const lane = async () => {
        try {
          while (next < frames.length && !signal.aborted) {
            const i = next++;
            const pixels = await decodeImage(await frameImage(frames[i]!.file), KEYFRAME_MAX_W);
            found[i] = analyzer.detect(pixels, { maxWidth: KEYFRAME_MAX_W, signal }).then((r) => r.faces);
            if (++posted === ahead) firstRound();
            await found[i];
          }
        } catch (e) {
          // The stage has failed: the other lanes hand nothing more over.
          halt.abort();
          throw e;
        }
      };
      const lanes = Promise.all(Array.from({ length: ahead }, lane));
      // Awaited by finish(), or never when a later stage fails and cancels it.
      lanes.catch(() => {});
      await Promise.race([handedOver, lanes]);
      return {
        cancel: () => halt.abort(),
        async finish() {
          await lanes;
          signal.throwIfAborted();
          let k = 0;
          for (const [i, sceneFrames] of perScene.entries()) {
            const seen: { frame: SampledFrame; face: DetectedFace }[] = [];
            for (const frame of sceneFrames) for (const face of await found[k++]!) seen.push({ frame, face });
            const out: FaceOut[] = [];
            // Crops are cut from the frame read again: keeping every frame's
            // pixels from the hand-over would hold a whole chunk of them.
            const images = new Map<string, Promise<ImageInput>>();
            for (const { frame, face } of dropDuplicateFaces(seen)) {
              const id = crypto.randomUUID();
              const image = images.get(frame.file) ?? frameImage(frame.file);
              images.set(frame.file, image);
              const crop = await cropFace(await image, face.box);
              await w.ctx.storage.put(faceCropKey(w.video.owner_id, id), crop, 'image/jpeg');
              out.push({
                id,
                frame_s: frame.t,
                box: [face.box.x, face.box.y, face.box.w, face.box.h],
                det_score: face.score,
                embedding: toArray(face.embedding),
              });
            }
            w.scenes[i]!.faces = out;
            await w.progress('faces', (i + 1) / perScene.length);
          }
          w.out.face_model = analyzer.modelId;
          return 'done';
        },
      };
    },
  },
];

/**
 * The cut stage's own work: the chunk's window decoded once for its cuts,
 * settled frames and seek points, scenes planned there, and with the OCR
 * model present the settled frames read, so text that changes cuts too.
 */
async function cutChunk(w: Work): Promise<void> {
  const file = await w.file();
  const duration = w.video.duration_s ?? (await probe(file, w.limits)).durationS;
  const { sceneMinS: minS, sceneMaxS: maxS, chunkS } = w.ctx.config.worker;
  const from = w.chunk.startS;
  const { to, last } = chunkEnd(from, chunkS, duration);
  const decodeFrom = Math.max(0, Math.floor((from - CUT_CONTEXT_S) * CHANGE_FPS) / CHANGE_FPS);
  // chunkEnd leaves more than a quarter of a chunk after a chunk that is not the last.
  const reach = Math.min(to + CUT_REACH * chunkS, duration);
  const detected = await analyse(
    w,
    last
      ? { startS: decodeFrom, endS: duration }
      : {
          startS: decodeFrom,
          durationS: reach - decodeFrom,
          endAtCut: { afterS: to, holdS: minS + 2 / CHANGE_FPS },
        },
    from,
  );
  const end = last ? duration : (detected.endedS ?? reach);
  await assertFullyDecoded(file, detected, { startS: decodeFrom, endS: end, totalS: duration }, w.limits);
  const length = end - from;
  const rel = (ts: number[]) => ts.filter((t) => t > from).map((t) => t - from);
  const curve = detected.curve.filter((c) => c.t >= from).map((c) => ({ t: c.t - from, change: c.change }));
  const plan = (cuts: number[]) =>
    planScenes(rel(cuts), length, { minS, maxS }, curve).map((s) => ({ start: s.start + from, end: s.end + from }));
  w.textSamples = detected.textSamples.filter((t) => t >= from);
  w.keyframes = { times: detected.keyframes, from: decodeFrom, to: decodeFrom + detected.decodedS };
  w.spans = plan(detected.cuts);
  // Where the OCR model is present, the frames it will read anyway are
  // read now, so a substantial change of on-screen text inside a scene
  // (a slide built up line by line) cuts too.
  const reader = await w.ctx.models.textReader();
  if (reader) {
    const reads: { t: number; text: string }[] = [];
    const times = chooseTextSamples(w.textSamples, w.spans, length, OCR_EXTRA_FRAMES_PER_MIN).flat();
    const jpgs = await extractFrames(
      w,
      times.map((t) => sampleRequest(w, t)),
    );
    for (const [k, t] of times.entries()) {
      const jpg = jpgs[k];
      if (jpg) reads.push({ t, text: await readFrame(w, reader, jpg) });
    }
    const more = textChangeCuts(reads, w.spans, minS);
    if (more.length) w.spans = plan([...detected.cuts, ...more]);
  }
  if (!last && w.spans.length > 1) w.spans.pop();
  w.range = { start: from, end: w.spans.at(-1)!.end, last, decoded: { from: decodeFrom, to: end } };
}

/**
 * The cut stage alone over the index chunk starting at startS, in `dir`
 * (the caller's to keep): what that chunk's index job takes (adoptCut)
 * instead of cutting again. Nothing is stored and no progress reported.
 */
export async function prepareCut(
  ctx: PipelineContext,
  video: VideoRow,
  startS: number,
  dir: string,
  signal?: AbortSignal,
): Promise<PreparedCut> {
  const w = newWork(ctx, video, dir, async () => {}, signal, null, { startS, ordinal: 0 });
  const frames = path.join(dir, 'frames');
  await fs.mkdir(frames, { recursive: true });
  await cutChunk(w);
  // The job's link to the video: the frames are all the index job needs.
  await fs.rm(await w.file(), { force: true });
  const name = (file: string) => {
    if (path.dirname(file) !== frames) throw new Error(`a cut's frame outside its folder: ${file}`);
    return path.basename(file);
  };
  return {
    dir,
    startS,
    reader: (await ctx.models.textReader())?.modelId ?? null,
    textSamples: w.textSamples!,
    keyframes: w.keyframes!,
    spans: w.spans,
    range: w.range!,
    frames: [...w.extracted].map(([file, ok]) => ({
      name: name(file),
      ok,
      at: w.extractedAt.get(file),
      text: w.readCache.get(file),
    })),
  };
}

/** Takes a prepared cut's products into this job: its frames moved into the job's folder. */
async function adoptCut(w: Work, p: PreparedCut): Promise<void> {
  for (const f of p.frames) {
    const file = path.join(w.dir, 'frames', f.name);
    if (f.ok) await fs.rename(path.join(p.dir, 'frames', f.name), file);
    w.extracted.set(file, f.ok);
    if (f.at !== undefined) w.extractedAt.set(file, f.at);
    if (f.text !== undefined) w.readCache.set(file, f.text);
  }
  w.textSamples = p.textSamples;
  w.keyframes = p.keyframes;
  w.spans = p.spans;
  w.range = p.range;
}

/** The stretch of video whose scenes this job produces: the chunk's, or the whole video's. */
const videoDuration = (w: Work) =>
  w.range ? w.range.end - w.range.start : (w.video.duration_s ?? w.spans.at(-1)?.end ?? 0);

/** Seconds decoded before a chunk's start, so the change detector has seen the settled picture before it. */
const CUT_CONTEXT_S = 5;

/**
 * How far past its end, as a share of INDEX_CHUNK_S, a chunk reads on to
 * the next cut (see the cut stage): the share chunkEnd leaves after a chunk
 * that is not the last, so the reach never gets to the video's end. A
 * picture with no cut that long leaves its last part to the next chunk, as
 * any window's end does.
 */
const CUT_REACH = 0.25;

/** Scene i's frame: a third in, past black frames (extractKeyframes), written to `file` in the job's frames folder. */
const spanRequest = (w: Work, i: number, file: string): KeyframeRequest => ({
  start: w.spans[i]!.start,
  end: w.spans[i]!.end,
  outPath: path.join(w.dir, 'frames', file),
});

/**
 * The frame at time t (a settled picture the change detector chose): a JPEG
 * from a seek, or the RGB frame the cut pass captured (frameImage reads both).
 */
const sampleRequest = (w: Work, t: number): KeyframeRequest => ({
  start: t,
  end: t + 0.2,
  outPath: path.join(w.dir, 'frames', `at-${Math.round(t * 1000)}.frame`),
});

/**
 * The frame file for each request (frameImage reads it; null where none
 * could be decoded): those not extracted earlier in this job in one batch,
 * i.e. one ffmpeg process for a stage's frames rather than one seek each.
 */
async function extractFrames(w: Work, reqs: KeyframeRequest[]): Promise<(string | null)[]> {
  const todo = [...new Map(reqs.filter((q) => !w.extracted.has(q.outPath)).map((q) => [q.outPath, q])).values()];
  if (todo.length) {
    const { written, at } = await extractKeyframes(await w.file(), todo, w.dir, w.limits, w.keyframes);
    todo.forEach((q, i) => {
      w.extracted.set(q.outPath, written[i]!);
      if (at[i] != null) w.extractedAt.set(q.outPath, at[i]!);
    });
  }
  return reqs.map((q) => (w.extracted.get(q.outPath) ? q.outPath : null));
}

async function readFrame(w: Work, reader: TextReader, frame: string): Promise<string> {
  let text = w.readCache.get(frame);
  if (text === undefined) {
    text = (await reader.read(await frameImage(frame))).text.replace(/\s+/g, ' ').trim();
    w.readCache.set(frame, text);
  }
  return text;
}

/** Boxes overlapping this much (intersection over union) on two frames of one scene are one place. */
const SAME_PLACE_IOU = 0.3;
/**
 * Within one scene, faces this close (cosine distance) in an overlapping box
 * are the same person seen again: looser than any matching threshold, since
 * the overlap already says most of it.
 */
const SAME_FACE_DISTANCE = 0.12;

export function iou(a: DetectedFace['box'], b: DetectedFace['box']): number {
  const ix = Math.max(0, Math.min(a.x + a.w, b.x + b.w) - Math.max(a.x, b.x));
  const iy = Math.max(0, Math.min(a.y + a.h, b.y + b.h) - Math.max(a.y, b.y));
  const inter = ix * iy;
  const union = a.w * a.h + b.w * b.h - inter;
  return union > 0 ? inter / union : 0;
}

/** The best-detected face of each person-and-place in a scene; later sightings of it are dropped. */
export function dropDuplicateFaces<T extends { face: DetectedFace }>(seen: T[]): T[] {
  const kept: T[] = [];
  for (const s of [...seen].sort((a, b) => b.face.score - a.face.score)) {
    const dup = kept.some((k) => {
      if (iou(k.face.box, s.face.box) < SAME_PLACE_IOU) return false;
      let dot = 0;
      for (let j = 0; j < k.face.embedding.length; j++) dot += k.face.embedding[j]! * s.face.embedding[j]!;
      return 1 - dot <= SAME_FACE_DISTANCE;
    });
    if (!dup) kept.push(s);
  }
  return kept;
}

/**
 * The cut pass over a window of the video (all of it without one). It
 * writes the settled frames OCR and the keyframes start from as it decodes
 * them (SettledCapture); those at or after keepFromS become this job's
 * extracted samples, so no seek decodes them again.
 */
async function analyse(w: Work, window?: DetectWindow, keepFromS = 0): Promise<SceneDetection> {
  const file = await w.file();
  await fs.mkdir(path.join(w.dir, 'frames'), { recursive: true });
  const captureDir = await fs.mkdtemp(path.join(w.dir, 'capture-'));
  try {
    const detected = await detectScenes(file, w.ctx.config.worker.sceneThreshold, w.limits, window, captureDir);
    for (const [t, jpg] of detected.captured) {
      if (t < keepFromS) continue;
      const out = sampleRequest(w, t).outPath;
      await fs.rename(jpg, out);
      w.extracted.set(out, true);
      w.extractedAt.set(out, t);
    }
    return detected;
  } finally {
    await fs.rm(captureDir, { recursive: true, force: true });
  }
}

/**
 * The frames OCR reads per scene: where the picture settled on something
 * new (the change detector's text samples, within OCR_EXTRA_FRAMES_PER_MIN),
 * so text that shows for a few seconds anywhere in a scene is read, and an
 * unchanged picture is read once however long it stays. A scene whose
 * picture never settles (moving footage) is read at its keyframe. On a
 * re-index the cut stage did not run, so the video is analysed again.
 */
async function sampleFrames(w: Work): Promise<SampledFrame[][]> {
  if (!w.textSamples) {
    const detected = await analyse(w, { startS: 0, endS: w.video.duration_s ?? undefined });
    w.textSamples = detected.textSamples;
    w.keyframes = { times: detected.keyframes, from: 0, to: detected.decodedS };
  }
  const chosen = chooseTextSamples(w.textSamples, w.spans, videoDuration(w), OCR_EXTRA_FRAMES_PER_MIN);
  // A scene with no other frame read is read at its keyframe, from the frame
  // it was copied from: at thumbnail size a caption filmed in 1080p is too
  // small to read. Where this job did not extract that frame (the keyframes
  // stage was loaded from storage: a re-index, a resumed job), only the
  // stored copy is at hand, so the frame is extracted again, the same one,
  // in the same batch.
  const sourceOf = (i: number) => {
    const key = w.frames[i];
    return key ? (w.frameOf.get(key) ?? key) : null;
  };
  const again = w.spans.map((_, i) => {
    const source = sourceOf(i);
    return !chosen[i]!.length && source && !w.extracted.has(source) ? spanRequest(w, i, `again-${i}.jpg`) : null;
  });
  const samples = chosen.flat().map((t) => sampleRequest(w, t));
  const jpgs = await extractFrames(w, [...samples, ...again.filter((q) => q !== null)]);
  let k = 0;
  let r = samples.length;
  const out: SampledFrame[][] = [];
  for (const [i, times] of chosen.entries()) {
    const frames: SampledFrame[] = [];
    for (const t of times) {
      const jpg = jpgs[k++];
      if (jpg) frames.push({ file: jpg, t });
    }
    // The keyframe's time where this job extracted it, else nominally a third into the scene.
    const s = w.spans[i]!;
    const frame = (again[i] ? jpgs[r++] : null) ?? sourceOf(i);
    if (!frames.length && frame)
      frames.push({ file: frame, t: w.extractedAt.get(frame) ?? s.start + (s.end - s.start) / 3 });
    out.push(frames);
  }
  return out;
}

/** Runs the given stages in table order, loading the products of the others that they need. */
async function runStages(w: Work, todo: Set<StageName>, stored: StoredScene[], missing: Set<SkippableStage>) {
  const load = new Set<StageName>();
  const want = (n: StageName) => {
    if (todo.has(n) || load.has(n)) return;
    load.add(n);
    STAGES.find((s) => s.name === n)!.needs.forEach(want);
  };
  for (const s of STAGES) if (todo.has(s.name)) s.needs.forEach(want);
  const record = (name: StageName, status: Status) => {
    if (status === 'missing') missing.add(name as SkippableStage);
    else missing.delete(name as SkippableStage);
  };
  await fs.mkdir(path.join(w.dir, 'frames'), { recursive: true });
  // Stages run or loaded so far, and the results of those begun early: a
  // stage whose work goes to threads begins once what it needs is there
  // and is recorded at its own place in the table.
  const ready = new Set<StageName>();
  const begun = new Map<StageName, Status | Deferred>();
  try {
    for (const stage of STAGES) {
      const early = begun.get(stage.name);
      if (early !== undefined) {
        if (typeof early === 'string') record(stage.name, early);
        else {
          await w.progress(stage.name, 0);
          record(stage.name, await early.finish());
        }
      } else if (todo.has(stage.name)) {
        await w.progress(stage.name, 0);
        const status = await stage.run(w);
        record(stage.name, typeof status === 'string' ? status : await status.finish());
      } else if (load.has(stage.name)) {
        await stage.load!(w, stored);
      }
      ready.add(stage.name);
      for (const later of STAGES) {
        const due = later.beginsEarly && todo.has(later.name) && !ready.has(later.name) && !begun.has(later.name);
        if (due && later.needs.every((n) => ready.has(n))) begun.set(later.name, await later.run(w));
      }
    }
  } catch (e) {
    for (const d of begun.values()) if (typeof d !== 'string') d.cancel();
    throw e;
  }
}

function newWork(
  ctx: PipelineContext,
  video: VideoRow,
  dir: string,
  progress: Progress,
  signal: AbortSignal | undefined,
  storedTranscript: Transcript | null = null,
  chunk: ChunkStart = { startS: 0, ordinal: 0 },
  prepared: PreparedCut | null = null,
): Work {
  let file: Promise<string> | undefined;
  let sampled: Promise<SampledFrame[][]> | undefined;
  const w: Work = {
    ctx,
    video,
    dir,
    signal,
    progress,
    limits: mediaLimits(ctx, signal),
    file: () => (file ??= fetchVideo(ctx, video, dir, signal).then((v) => v.file)),
    sampledFrames: () => (sampled ??= sampleFrames(w)),
    storedTranscript,
    prepared,
    chunk,
    range: null,
    textSamples: null,
    keyframes: undefined,
    readCache: new Map(),
    extracted: new Map(),
    extractedAt: new Map(),
    frameOf: new Map(),
    spans: [],
    texts: [],
    frames: [],
    imageVecs: [],
    scenes: [],
    out: {},
  };
  return w;
}

const order = (missing: Set<SkippableStage>) =>
  STAGES.map((s) => s.name).filter((n): n is SkippableStage => missing.has(n as SkippableStage));

/**
 * Every stage on one chunk of a fresh video (the whole video when it is at
 * most INDEX_CHUNK_S long): the scenes from `chunk.startS` up to the last
 * cut of the chunk's window, or to the end. Without a stored transcript (an
 * index job queued by hand) the transcribe stage runs inline. A cut stage
 * prepared for this chunk while its speech was recognised (cuts-ahead.ts)
 * is taken instead of cutting again, where it was cut with the same OCR model.
 */
export async function indexVideo(
  ctx: PipelineContext,
  video: VideoRow,
  storedTranscript: Transcript | null,
  progress: Progress,
  signal?: AbortSignal,
  chunk: ChunkStart = { startS: 0, ordinal: 0 },
  prepared: PreparedCut | null = null,
): Promise<IndexChunk> {
  return withWorkDir(async (dir) => {
    const w = newWork(ctx, video, dir, progress, signal, storedTranscript, chunk, prepared);
    const missing = new Set<SkippableStage>();
    await runStages(w, new Set(STAGES.map((s) => s.name)), [], missing);
    const range = w.range!;
    const product: IndexResult = {
      transcript_source: 'none',
      language: null,
      asr_model: null,
      text_model: null,
      image_model: null,
      ocr_model: null,
      face_model: null,
      ...w.out,
      missing_stages: order(missing),
      scenes: w.scenes.map((s) => ({
        start_s: 0,
        end_s: 0,
        transcript: '',
        ocr_text: '',
        tags: [],
        text_vec: null,
        image_vec: null,
        keyframe_key: null,
        ...s,
      })),
    };
    return { start_s: range.start, end_s: range.end, last: range.last, decoded: range.decoded, product };
  });
}

/**
 * Which stages a re-index runs: for "missing" the skipped stages whose model
 * is present now, for "stale" those whose model changed; then every stage
 * that reads what those produce. A stage whose input is itself still missing
 * cannot run yet.
 */
export async function planReindex(ctx: PipelineContext, video: VideoRow, mode: ReindexMode): Promise<Set<StageName>> {
  const missing = new Set<StageName>(video.missing_stages);
  const todo = new Set<StageName>();
  for (const s of STAGES) {
    const wanted = mode === 'missing' ? missing.has(s.name) : Boolean(await s.stale?.(ctx, video));
    const blocked = s.needs.some((n) => missing.has(n) && !todo.has(n));
    if (wanted && !blocked && (await (s.available?.(ctx) ?? true))) todo.add(s.name);
  }
  if (todo.size === 0) return todo;
  for (const s of STAGES) if (s.needs.some((n) => todo.has(n))) todo.add(s.name);
  return todo;
}

/**
 * Re-runs the planned stages on the stored scenes (boundaries never change
 * here: that is a full re-run, reprocess_video). Returns null when nothing
 * can be done yet (the models are still absent).
 */
export async function reindexVideo(
  ctx: PipelineContext,
  video: VideoRow,
  stored: StoredScene[],
  mode: ReindexMode,
  progress: Progress,
  signal?: AbortSignal,
): Promise<ReindexResult | null> {
  const todo = await planReindex(ctx, video, mode);
  if (todo.size === 0 || stored.length === 0) return null;
  return withWorkDir(async (dir) => {
    const w = newWork(ctx, video, dir, progress, signal);
    w.scenes = stored.map((s) => ({ ordinal: s.ordinal }));
    const missing = new Set(video.missing_stages);
    await runStages(w, todo, stored, missing);
    return { ...w.out, missing_stages: order(missing), scenes: w.scenes };
  });
}
