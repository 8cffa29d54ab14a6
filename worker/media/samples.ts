/*
 * Sample videos with known content: visually distinct shots with a word
 * burned into each, espeak-ng speech, and an optional embedded subtitle
 * track. Tests assert the pipeline against the returned metadata, and
 * `heimdex demo` indexes one so a new install has something to search.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { runTool, stderrSummary, type RunLimits } from './run.ts';

export const SAMPLE_FONT = '/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf';

export interface SampleSceneSpec {
  durationS: number;
  /** ffmpeg colour name or 0xRRGGBB. */
  color: string;
  /** Burned in, large, centred. Letters only keep OCR tests simple. */
  word: string;
  /** Spoken during the scene (and used as its subtitle cue); empty = silence. */
  speech?: string;
}

export interface SampleScene extends SampleSceneSpec {
  start: number;
  end: number;
}

export interface SampleVideo {
  path: string;
  durationS: number;
  /** Start times of scenes after the first. */
  cuts: number[];
  scenes: SampleScene[];
  /** The cues written to the subtitle track (also returned as SRT text). */
  subtitles: { start: number; end: number; text: string }[];
  srt: string;
}

export interface SampleOptions {
  scenes?: SampleSceneSpec[];
  width?: number;
  height?: number;
  fps?: number;
  /** Speech audio track (espeak-ng); false = no audio stream at all. */
  audio?: boolean;
  /** Embed the cues as a mov_text (mp4) / subrip (mkv) stream. */
  subtitles?: boolean;
  limits?: RunLimits;
}

export const DEFAULT_SAMPLE_SCENES: SampleSceneSpec[] = [
  { durationS: 3, color: 'red', word: 'APPLE', speech: 'an apple on the table' },
  { durationS: 3, color: 'blue', word: 'OCEAN', speech: 'waves on the ocean' },
  { durationS: 3, color: 'green', word: 'FOREST', speech: 'trees in the forest' },
  { durationS: 3, color: 'yellow', word: 'SUNSET', speech: '' },
  { durationS: 3, color: 'purple', word: 'ROCKET', speech: 'a rocket launch' },
];

/** About thirty seconds: six shots of five seconds, for benchmarks and the demo. */
export const THIRTY_SECOND_SCENES: SampleSceneSpec[] = [
  { durationS: 5, color: 'red', word: 'APPLE', speech: 'an apple on the kitchen table' },
  { durationS: 5, color: 'blue', word: 'OCEAN', speech: 'waves roll across the ocean' },
  { durationS: 5, color: 'green', word: 'FOREST', speech: 'tall trees in a quiet forest' },
  { durationS: 5, color: 'orange', word: 'SUNSET', speech: 'the sun sets over the hills' },
  { durationS: 5, color: 'purple', word: 'ROCKET', speech: 'a rocket launches into space' },
  { durationS: 5, color: 'teal', word: 'GUITAR', speech: 'someone plays a guitar song' },
];

const DEFAULT_LIMITS: RunLimits = { timeoutS: 300, maxMemoryMb: 0 };

function srtTime(t: number): string {
  const ms = Math.round(t * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${p(Math.floor(ms / 3600000))}:${p(Math.floor(ms / 60000) % 60)}:${p(Math.floor(ms / 1000) % 60)},${p(ms % 1000, 3)}`;
}

function espeak(text: string, wav: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const p = spawn('espeak-ng', ['-v', 'en', '-s', '150', '-w', wav, text], { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    p.stderr.on('data', (d) => (err += d));
    p.on('error', (e) => reject(new Error(`espeak-ng could not start: ${e.message}`)));
    p.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`espeak-ng failed: ${err.trim()}`))));
  });
}

/** Writes a sample video (mp4 or mkv, by extension) and returns what is in it. */
export async function generateSampleVideo(outPath: string, opts: SampleOptions = {}): Promise<SampleVideo> {
  const specs = opts.scenes ?? DEFAULT_SAMPLE_SCENES;
  if (!specs.length) throw new Error('a sample video needs at least one scene');
  const width = opts.width ?? 320;
  const height = opts.height ?? 240;
  const fps = opts.fps ?? 25;
  const audio = opts.audio ?? true;
  const withSubs = opts.subtitles ?? true;
  const limits = opts.limits ?? DEFAULT_LIMITS;
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'heimdex-sample-'));
  try {
    const scenes: SampleScene[] = [];
    let t = 0;
    for (const s of specs) {
      // Whole frames only, so the known cut times are exactly representable.
      const d = Math.round(s.durationS * fps) / fps;
      scenes.push({ ...s, durationS: d, start: t, end: t + d });
      t += d;
    }
    const durationS = t;
    const inputs: string[] = [];
    const graph: string[] = [];
    const fontSize = Math.round(height / 5);
    scenes.forEach((s, i) => {
      graph.push(
        `color=c=${s.color}:s=${width}x${height}:r=${fps}:d=${s.durationS},` +
          `drawtext=fontfile=${SAMPLE_FONT}:text='${s.word.replace(/[^A-Za-z0-9 ]/g, '')}':fontsize=${fontSize}:fontcolor=white:borderw=4:bordercolor=black:x=(w-tw)/2:y=(h-th)/2[v${i}]`,
      );
    });
    graph.push(`${scenes.map((_, i) => `[v${i}]`).join('')}concat=n=${scenes.length}:v=1:a=0[vout]`);
    if (audio) {
      let idx = 0;
      for (const [i, s] of scenes.entries()) {
        if (s.speech) {
          const wav = path.join(tmp, `s${i}.wav`);
          await espeak(s.speech, wav);
          inputs.push('-i', wav);
          graph.push(
            `[${idx}:a]aformat=sample_rates=22050:channel_layouts=mono,apad=whole_dur=${s.durationS},atrim=end=${s.durationS}[a${i}]`,
          );
          idx++;
        } else {
          graph.push(`anullsrc=r=22050:cl=mono:d=${s.durationS}[a${i}]`);
        }
      }
      graph.push(`${scenes.map((_, i) => `[a${i}]`).join('')}concat=n=${scenes.length}:v=0:a=1[aout]`);
    }
    const subtitles = scenes
      .filter((s) => s.speech)
      .map((s) => ({ start: s.start + 0.2, end: s.end - 0.2, text: s.speech! }));
    const srt = subtitles.map((c, i) => `${i + 1}\n${srtTime(c.start)} --> ${srtTime(c.end)}\n${c.text}\n`).join('\n');
    const mkv = outPath.endsWith('.mkv');
    const subIdx = inputs.length / 2;
    if (withSubs && subtitles.length) {
      const srtPath = path.join(tmp, 'subs.srt');
      await fs.writeFile(srtPath, srt);
      inputs.push('-i', srtPath);
    }
    const args = [
      '-v',
      'error',
      ...inputs,
      '-filter_complex',
      graph.join(';'),
      '-map',
      '[vout]',
      ...(audio ? ['-map', '[aout]'] : []),
      ...(withSubs && subtitles.length
        ? ['-map', `${subIdx}:s`, '-c:s', mkv ? 'subrip' : 'mov_text', '-metadata:s:s:0', 'language=eng']
        : []),
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-g',
      String(fps * 2),
      ...(audio ? ['-c:a', 'aac', '-b:a', '64k'] : []),
      ...(mkv ? [] : ['-movflags', '+faststart']),
      '-y',
      outPath,
    ];
    const r = await runTool('ffmpeg', args, limits);
    if (r.code !== 0) throw new Error(`could not generate the sample video: ${stderrSummary(r.stderr)}`);
    return { path: outPath, durationS, cuts: scenes.slice(1).map((s) => s.start), scenes, subtitles, srt };
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** A sound-only file (m4a), to check that audio without a picture is refused. */
export async function generateAudioOnly(
  outPath: string,
  text = 'there is nothing to see here',
  limits = DEFAULT_LIMITS,
): Promise<void> {
  const tmp = await fs.mkdtemp(path.join(os.tmpdir(), 'heimdex-sample-'));
  try {
    const wav = path.join(tmp, 'a.wav');
    await espeak(text, wav);
    const r = await runTool('ffmpeg', ['-v', 'error', '-i', wav, '-c:a', 'aac', '-y', outPath], limits);
    if (r.code !== 0) throw new Error(`could not generate the audio sample: ${stderrSummary(r.stderr)}`);
  } finally {
    await fs.rm(tmp, { recursive: true, force: true });
  }
}

/** A shot of a photo slideshow: a photo (optionally a crop of it, as fractions) or a plain colour. */
export interface PhotoShot {
  durationS: number;
  photo?: string;
  crop?: { x: number; y: number; w: number; h: number };
  color?: string;
}

/**
 * A silent video of still photos (ffmpeg -loop 1), one shot per entry, for
 * face tests and benchmarks: real faces without shipping any video. Each
 * photo is fitted into the frame (letterboxed), so cuts between shots are
 * hard cuts the scene detector finds.
 */
export async function generatePhotoVideo(
  outPath: string,
  shots: PhotoShot[],
  opts: { width?: number; height?: number; fps?: number; limits?: RunLimits } = {},
): Promise<{ path: string; durationS: number; cuts: number[] }> {
  const { width = 1280, height = 720, fps = 25, limits = DEFAULT_LIMITS } = opts;
  const inputs: string[] = [];
  const graph: string[] = [];
  const cuts: number[] = [];
  let t = 0;
  shots.forEach((s, i) => {
    const d = Math.round(s.durationS * fps) / fps;
    if (i > 0) cuts.push(t);
    t += d;
    if (s.photo) {
      inputs.push('-loop', '1', '-framerate', String(fps), '-t', String(d), '-i', s.photo);
      const c = s.crop;
      const crop = c ? `crop=iw*${c.w}:ih*${c.h}:iw*${c.x}:ih*${c.y},` : '';
      graph.push(
        `[${i}:v]${crop}scale=${width}:${height}:force_original_aspect_ratio=decrease,` +
          `pad=${width}:${height}:(ow-iw)/2:(oh-ih)/2,setsar=1,fps=${fps},format=yuv420p[v${i}]`,
      );
    } else {
      inputs.push('-f', 'lavfi', '-t', String(d), '-i', `color=c=${s.color ?? 'gray'}:s=${width}x${height}:r=${fps}`);
      graph.push(`[${i}:v]setsar=1,format=yuv420p[v${i}]`);
    }
  });
  graph.push(`${shots.map((_, i) => `[v${i}]`).join('')}concat=n=${shots.length}:v=1:a=0[vout]`);
  const args = [
    '-v',
    'error',
    ...inputs,
    '-filter_complex',
    graph.join(';'),
    '-map',
    '[vout]',
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-g',
    String(fps * 2),
    '-movflags',
    '+faststart',
    '-y',
    outPath,
  ];
  const r = await runTool('ffmpeg', args, limits);
  if (r.code !== 0) throw new Error(`could not generate the photo video: ${stderrSummary(r.stderr)}`);
  return { path: outPath, durationS: t, cuts };
}
