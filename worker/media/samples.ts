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
  /**
   * Camera-like pictures: each scene pans across its own part of a fractal,
   * tinted with its colour, with a little sensor noise, so every frame
   * differs from the last as in filmed footage (a flat colour barely costs
   * a decoder anything, which flatters whatever is measured against it).
   */
  motion?: boolean;
  /**
   * The burned-in words' size in pixels. By default a fifth of the height,
   * outlined; set, they are a caption on a dark bar (a filmed 1080p
   * picture's captions are 16-24 px).
   */
  wordPx?: number;
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

/** Pixels per second a motion scene pans: a 720p frame's width in about half a minute, a slow drift. */
const PAN_PX_PER_S = 40;

/**
 * A pan at pxPerS across one rendered frame of the Mandelbrot set (a
 * detailed still picture): at ffmpeg's default view, or centred on `at`.
 */
function fractalPan(
  o: { width: number; height: number; fps: number; durationS: number; pxPerS: number },
  at?: { x: number; y: number; scale: number },
): string {
  const big = `${o.width + Math.ceil(o.pxPerS * o.durationS) + 2}x${o.height}`;
  const view = at
    ? `start_x=${at.x.toFixed(4)}:start_y=${at.y.toFixed(4)}:start_scale=${at.scale}:end_scale=${at.scale}`
    : 'start_scale=2:end_scale=2';
  return (
    `mandelbrot=s=${big}:r=${o.fps}:${view}:outer=normalized_iteration_count,trim=end_frame=1,` +
    `loop=loop=-1:size=1,setpts=N/${o.fps}/TB,trim=duration=${o.durationS},` +
    `crop=${o.width}:${o.height}:x='t*${o.pxPerS}':y=0`
  );
}

/** A scene's moving picture (SampleOptions.motion): its own part of the fractal, tinted, with sensor noise. */
function movingBackground(s: SampleSceneSpec, i: number, width: number, height: number, fps: number): string {
  const at = { x: -0.75 + 0.37 * Math.sin(i * 1.7), y: 0.1 + 0.25 * Math.cos(i * 1.3), scale: 1.5 };
  return (
    fractalPan({ width, height, fps, durationS: s.durationS, pxPerS: PAN_PX_PER_S }, at) +
    `,drawbox=c=${s.color}@0.35:t=fill,noise=alls=4:allf=t,setsar=1`
  );
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
    const fontSize = opts.wordPx ?? Math.round(height / 5);
    // Small words are a caption: on a dark bar, as broadcasters and editors set them.
    const outline = opts.wordPx
      ? `box=1:boxcolor=black@0.7:boxborderw=${Math.round(opts.wordPx / 3)}`
      : 'borderw=4:bordercolor=black';
    scenes.forEach((s, i) => {
      graph.push(
        (opts.motion
          ? movingBackground(s, i, width, height, fps)
          : `color=c=${s.color}:s=${width}x${height}:r=${fps}:d=${s.durationS}`) +
          `,drawtext=fontfile=${SAMPLE_FONT}:text='${s.word.replace(/[^A-Za-z0-9 ]/g, '')}':fontsize=${fontSize}:fontcolor=white:${outline}:x=(w-tw)/2:y=(h-th)/2[v${i}]`,
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

/*
 * Lecture- and screen-style samples with known boundaries, for the cut
 * detector's tests and its precision/recall benchmark. Each returns the
 * times a person would call a new scene (`cuts`) and what is on screen.
 */

export interface KnownBoundaries {
  path: string;
  durationS: number;
  /** Where a new scene starts (a person's judgement), ascending, excluding 0. */
  cuts: number[];
  /** What each scene shows (slide text, window text); empty for footage without text. */
  texts: string[];
}

export interface SlideSpec {
  durationS: number;
  title: string;
  lines: string[];
  /** Spoken during the slide and used as its subtitle cue. */
  speech?: string;
}

export const FIVE_SLIDES: SlideSpec[] = [
  { durationS: 6, title: 'Quarterly Review', lines: ['Revenue grew nine percent', 'Costs stayed flat'] },
  { durationS: 6, title: 'Customer Retention', lines: ['Churn fell to four percent', 'Loyalty program works'] },
  { durationS: 6, title: 'Product Roadmap', lines: ['Mobile release in spring', 'Offline mode next'] },
  { durationS: 6, title: 'Hiring Plan', lines: ['Two engineers per team', 'One designer'] },
  { durationS: 6, title: 'Open Questions', lines: ['Pricing in Europe', 'Partner contracts'] },
];

/** The generated pictures' defaults: 640x360 at 25 fps. */
function pictureOptions(opts: { width?: number; height?: number; fps?: number; limits?: RunLimits }) {
  return {
    width: opts.width ?? 640,
    height: opts.height ?? 360,
    fps: opts.fps ?? 25,
    limits: opts.limits ?? DEFAULT_LIMITS,
  };
}

function esc(t: string): string {
  return t.replace(/[^A-Za-z0-9 ]/g, '');
}

async function encode(
  outPath: string,
  inputs: string[],
  graph: string,
  limits: RunLimits,
  fps: number,
  output: string[] = [],
) {
  const r = await runTool(
    'ffmpeg',
    [
      '-v',
      'error',
      ...inputs,
      '-filter_complex',
      graph,
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
      ...output,
      '-y',
      outPath,
    ],
    limits,
  );
  if (r.code !== 0) throw new Error(`could not generate ${path.basename(outPath)}: ${stderrSummary(r.stderr)}`);
}

/**
 * A slide deck: every slide on the same background and header bar, only the
 * title and bullet lines change, as in a screen-shared presentation. The
 * share of changed pixels at each slide change is a few percent. Options
 * give it what real recordings of talks and meetings have: bullets that
 * appear one after another (`builds`), transitions between slides
 * (`dissolveS` long, the boundary at its middle; a dissolve unless
 * `transition` names another of ffmpeg's xfade transitions, such as
 * slideleft for a push or wipeleft), a variable frame rate as screen
 * recorders write it, a frame only when the picture changes
 * (`variableRate`: the last slide is one frame, and silent audio carries the
 * recording to its end), and the speaker's
 * camera, a picture that never holds still (`camera`): in a corner over the
 * slides, or as a panel of 40 % on the left with the slides shrunk beside
 * it, as meeting and lecture-capture tools lay them out. `presenter` films
 * the deck with someone in front of it (a figure two thirds of the picture's
 * height, with the grain of a camera over everything) who walks for a
 * second a quarter into each slide, across the picture (odd slides: out of
 * it), stays, and walks back at six tenths: none of that is a new scene.
 */
export async function generateSlideDeck(
  outPath: string,
  opts: {
    slides?: SlideSpec[];
    width?: number;
    height?: number;
    fps?: number;
    limits?: RunLimits;
    builds?: boolean;
    dissolveS?: number;
    transition?: string;
    camera?: 'corner' | 'side';
    presenter?: boolean;
    variableRate?: boolean;
  } = {},
): Promise<KnownBoundaries> {
  const slides = opts.slides ?? FIVE_SLIDES;
  const { width, height, fps, limits } = pictureOptions(opts);
  const dissolve = opts.dissolveS ?? 0;
  const title = Math.round(height / 10);
  const body = Math.round(height / 16);
  const graph: string[] = [];
  let t = 0;
  const cuts: number[] = [];
  slides.forEach((s, i) => {
    const d = Math.round(s.durationS * fps) / fps;
    // A dissolve overlaps the two slides: the next one starts while this one fades.
    if (i > 0) {
      t -= dissolve;
      cuts.push(t + dissolve / 2);
    }
    t += d;
    const text = [
      `drawtext=fontfile=${SAMPLE_FONT}:text='${esc(s.title)}':fontsize=${title}:fontcolor=0x1a2a4a:x=${Math.round(width * 0.08)}:y=${Math.round(height * 0.2)}`,
      ...s.lines.map(
        (l, j) =>
          `drawtext=fontfile=${SAMPLE_FONT}:text='${esc(l)}':fontsize=${body}:fontcolor=0x333333:x=${Math.round(width * 0.1)}:y=${Math.round(height * (0.42 + j * 0.14))}` +
          (opts.builds ? `:enable='gte(t,${(((j + 1) * d) / (s.lines.length + 1)).toFixed(2)})'` : ''),
      ),
    ].join(',');
    graph.push(
      `color=c=0xf4f1ea:s=${width}x${height}:r=${fps}:d=${d},` +
        `drawbox=x=0:y=0:w=iw:h=${Math.round(height * 0.08)}:color=0x2b4c7e:t=fill,` +
        `drawbox=x=0:y=${Math.round(height * 0.94)}:w=iw:h=${Math.round(height * 0.06)}:color=0x2b4c7e:t=fill,${text}[v${i}]`,
    );
  });
  const deck = opts.camera || opts.presenter ? '[deck]' : '[vout]';
  if (dissolve > 0) {
    let joined = '[v0]';
    let at = 0;
    slides.forEach((s, i) => {
      if (i === 0) return;
      at += Math.round(slides[i - 1]!.durationS * fps) / fps - dissolve;
      const out = i === slides.length - 1 ? deck : `[x${i}]`;
      graph.push(
        `${joined}[v${i}]xfade=transition=${opts.transition ?? 'fade'}:duration=${dissolve}:offset=${at.toFixed(3)}${out}`,
      );
      joined = out;
    });
  } else {
    graph.push(`${slides.map((_, i) => `[v${i}]`).join('')}concat=n=${slides.length}:v=1:a=0${deck}`);
  }
  if (opts.presenter) {
    const w = Math.round(width * 0.11);
    const h = Math.round(height * 0.64);
    const from = Math.round(width * 0.12);
    // Across to two thirds of the width, or out of the picture on the right.
    const [across, away] = [Math.round(width * 0.54), width - from + 2];
    // x is from plus each walk there minus the walk back, each a ramp of 1 s.
    const ramp = (at: number) => `clip(t-${at.toFixed(3)},0,1)`;
    const walks: string[] = [];
    let start = 0;
    for (const [i, sl] of slides.entries()) {
      const d = Math.round(sl.durationS * fps) / fps - dissolve;
      walks.push(`${i % 2 ? away : across}*(${ramp(start + d * 0.25)}-${ramp(start + d * 0.6)})`);
      start += d;
    }
    graph.push(
      `color=c=0x3a3030:s=${w}x${h}:r=${fps}:d=${t},noise=alls=25[figure]`,
      `[deck][figure]overlay=x='${from}+${walks.join('+')}':y=${height - h}:shortest=1,noise=alls=4:allf=t,format=yuv420p${opts.camera ? '[filmed]' : '[vout]'}`,
    );
  }
  const filmed = opts.presenter ? '[filmed]' : '[deck]';
  if (opts.camera === 'corner') {
    const w = Math.round(width / 4 / 2) * 2;
    const h = Math.round((w * 3) / 4 / 2) * 2;
    const margin = Math.round(height * 0.08);
    graph.push(
      `${fractalPan({ width: w, height: h, fps, durationS: t, pxPerS: PAN_PX_PER_S / 2 })},noise=alls=4:allf=t,format=yuv420p[cam]`,
      `${filmed}[cam]overlay=x=W-w-${margin}:y=H-h-${margin}:shortest=1[vout]`,
    );
  } else if (opts.camera === 'side') {
    const w = Math.round((width * 0.4) / 2) * 2;
    const sw = width - w;
    const sh = Math.round((sw * height) / width / 2) * 2;
    graph.push(
      `${fractalPan({ width: w, height, fps, durationS: t, pxPerS: PAN_PX_PER_S / 2 })},noise=alls=4:allf=t[cam]`,
      `${filmed}scale=${sw}:${sh}[small]`,
      `color=c=0x202020:s=${width}x${height}:r=${fps}:d=${t}[canvas]`,
      `[canvas][cam]overlay=x=0:y=0[left]`,
      `[left][small]overlay=x=${w}:y=${Math.round((height - sh) / 2)}:shortest=1,format=yuv420p[vout]`,
    );
  }
  if (opts.variableRate) {
    const full = `${outPath}.cfr.mp4`;
    await encode(full, [], graph.join(';'), limits, fps);
    try {
      // Silence beside it, as long as the talk: the recording ends there,
      // while its picture stops at the last slide's one frame.
      await encode(
        outPath,
        ['-i', full, '-f', 'lavfi', '-t', t.toFixed(3), '-i', 'anullsrc=r=48000:cl=mono'],
        '[0:v]mpdecimate[vout]',
        limits,
        fps,
        ['-map', '1:a', '-c:a', 'aac', '-fps_mode', 'vfr'],
      );
    } finally {
      await fs.rm(full, { force: true });
    }
  } else {
    await encode(outPath, [], graph.join(';'), limits, fps);
  }
  const ms = (x: number) => Math.round(x * 1000) / 1000;
  return {
    path: outPath,
    durationS: ms(t),
    cuts: cuts.map(ms),
    texts: slides.map((s) => [s.title, ...s.lines].join(' ')),
  };
}

/**
 * A screen recording: a grey desktop, an editor window whose document
 * changes at known times (a new file opened), a second window that opens
 * later, and a mouse pointer that moves all the time (which must not cut).
 * With `typing`, the second document is typed in rather than opened whole.
 * Its text is 1/22 of the height unless `textPx` says (an editor's text on
 * a 1080p screen is 12-16 px).
 */
export async function generateScreenRecording(
  outPath: string,
  opts: { width?: number; height?: number; fps?: number; limits?: RunLimits; typing?: boolean; textPx?: number } = {},
): Promise<KnownBoundaries> {
  const { width, height, fps, limits } = pictureOptions(opts);
  const docs = [
    { from: 0, to: 5, lines: ['import express from express', 'const app = express()', 'app.listen 8080'] },
    { from: 5, to: 10, lines: ['SELECT name FROM users', 'WHERE active = true', 'ORDER BY created'] },
    { from: 10, to: 15, lines: ['Meeting notes Monday', 'budget approved', 'launch moved to May'] },
    { from: 15, to: 20, lines: ['Meeting notes Monday', 'budget approved', 'launch moved to May'] },
  ];
  const fs_ = opts.textPx ?? Math.round(height / 22);
  const win = {
    x: Math.round(width * 0.06),
    y: Math.round(height * 0.1),
    w: Math.round(width * 0.6),
    h: Math.round(height * 0.7),
  };
  const filters = [
    `drawbox=x=${win.x}:y=${win.y}:w=${win.w}:h=${win.h}:color=white:t=fill`,
    `drawbox=x=${win.x}:y=${win.y}:w=${win.w}:h=${Math.round(height * 0.05)}:color=0x3c3c3c:t=fill`,
  ];
  const line = (text: string, j: number, from: number, to: number) =>
    `drawtext=fontfile=${SAMPLE_FONT}:text='${esc(text)}':fontsize=${fs_}:fontcolor=black:x=${win.x + 12}:y=${win.y + Math.round(height * 0.1) + j * fs_ * 2}:enable='between(t,${from.toFixed(2)},${(to - 0.001).toFixed(3)})'`;
  docs.forEach((d, i) =>
    d.lines.forEach((l, j) => {
      if (!(opts.typing && i === 1)) return filters.push(line(l, j, d.from, d.to));
      // Typed in: three letters at a time, 0.15 s apart, one line after the other.
      const start = d.from + 0.2 + d.lines.slice(0, j).reduce((n, p) => n + Math.ceil(p.length / 3) * 0.15, 0);
      for (let k = 3; k < l.length + 3; k += 3) {
        const from = start + (k / 3 - 1) * 0.15;
        filters.push(line(l.slice(0, k), j, from, k < l.length ? from + 0.15 : d.to));
      }
    }),
  );
  // At 15 s a second window (a chat) opens over the right side and stays.
  const chat = {
    x: Math.round(width * 0.62),
    y: Math.round(height * 0.3),
    w: Math.round(width * 0.34),
    h: Math.round(height * 0.5),
  };
  filters.push(
    `drawbox=x=${chat.x}:y=${chat.y}:w=${chat.w}:h=${chat.h}:color=0xdfe8f5:t=fill:enable='gte(t,15)'`,
    `drawtext=fontfile=${SAMPLE_FONT}:text='Team chat':fontsize=${fs_}:fontcolor=0x112244:x=${chat.x + 10}:y=${chat.y + 10}:enable='gte(t,15)'`,
    `drawtext=fontfile=${SAMPLE_FONT}:text='see you at noon':fontsize=${fs_}:fontcolor=black:x=${chat.x + 10}:y=${chat.y + 10 + fs_ * 2}:enable='gte(t,15)'`,
    // The pointer wanders continuously.
    `drawtext=fontfile=${SAMPLE_FONT}:text='^':fontsize=${fs_ * 2}:fontcolor=black:x='${Math.round(width * 0.3)}+${Math.round(width * 0.25)}*sin(t/1.7)':y='${Math.round(height * 0.5)}+${Math.round(height * 0.3)}*cos(t/2.3)'`,
  );
  const dur = 20;
  await encode(
    outPath,
    [],
    `color=c=0x808890:s=${width}x${height}:r=${fps}:d=${dur},${filters.join(',')}[vout]`,
    limits,
    fps,
  );
  return {
    path: outPath,
    durationS: dur,
    cuts: [5, 10, 15],
    texts: [docs[0]!.lines.join(' '), docs[1]!.lines.join(' '), docs[2]!.lines.join(' '), 'Team chat see you at noon'],
  };
}

/**
 * A long document scrolled in a window, as a screen recording shows it: a
 * page of text three screens tall, still for 2 s, then moved by a mouse
 * wheel (jumps of 1/18 to 1/5 of the picture every 0.4 s, most of them a
 * fraction of an analysis pixel off a whole one) until 8 s; at 10 s another
 * window (dark, with other text) takes the screen, still until 12 s, then
 * scrolled smoothly (half a picture a second) until 15 s. One boundary, the
 * switch. `linePx` sets the height of a line of text (an eighteenth of the
 * picture's by default). With `chrome`, both pages scroll inside a browser's
 * window, beneath a toolbar and beside a sidebar that stay still: the switch
 * is a link followed, another page of black text on white in the same
 * window.
 */
export async function generateScrolledDocument(
  outPath: string,
  opts: { width?: number; height?: number; fps?: number; limits?: RunLimits; chrome?: boolean; linePx?: number } = {},
): Promise<KnownBoundaries> {
  const { width, height, fps, limits } = pictureOptions(opts);
  const words = (
    'report budget quarter launch review design server customer market team ' +
    'plan update account growth income chart result project schedule contract'
  ).split(' ');
  const linePx = opts.linePx ?? Math.round(height / 18);
  const label = (text: string, size: number, colour: string, x: number, y: number) =>
    `drawtext=fontfile=${SAMPLE_FONT}:text='${esc(text)}':fontsize=${Math.round(linePx * size)}:fontcolor=${colour}:x=${x}:y=${y}`;
  const page = (bg: string, fg: string, seed: number) => {
    const lines = [];
    // Lines of different lengths and words (a fixed pseudo-random draw), so
    // that no stretch of the page looks like another.
    let r = seed;
    const next = (n: number) => {
      r = (r * 1103515245 + 12345) % 2147483648;
      return Math.floor((r / 2147483648) * n);
    };
    for (let j = 0; j < Math.floor((3 * height) / linePx) - 1; j++) {
      const text = Array.from({ length: 3 + next(9) }, () => words[next(words.length)]).join(' ');
      lines.push(label(text, 0.6, fg, Math.round(width * 0.05), Math.round(linePx * 0.3) + j * linePx));
    }
    return `color=c=${bg}:s=${width}x${3 * height}:r=${fps}:d=${(1 / fps).toFixed(4)},${lines.join(',')},loop=loop=-1:size=1`;
  };
  // The wheel: a jump every 0.4 s from 2 s, of these shares of the height in turn.
  const jumps = [1 / 18, 1 / 7, 1 / 5, 1 / 12];
  let y = 0;
  let scroll = '0';
  for (let k = 0; k < 15; k++) {
    y += Math.round(height * jumps[k % jumps.length]!);
    scroll = `if(gte(t,${(2 + 0.4 * k).toFixed(1)}),${Math.min(y, 2 * height)},${scroll})`;
  }
  // The second window's own clock: it starts at 10 s.
  const smooth = `${Math.round(height / 2)}*min(max(t-2,0),3)`;
  // The browser's toolbar and sidebar, and the page's view beside them.
  const bar = opts.chrome ? 2 * Math.round(height / 18) : 0;
  const side = opts.chrome ? 2 * Math.round(width / 9) : 0;
  const chrome = opts.chrome
    ? [
        `pad=${width}:${height}:${side}:${bar}:color=0x3c3f4a`,
        `drawbox=x=0:y=${bar}:w=${side}:h=${height - bar}:color=0xe6e6e6:t=fill`,
        ...['Docs', 'Issues', 'Settings', 'example org guide'].map((t, i) =>
          label(t, 0.55, 'white', Math.round(width * (0.02 + 0.12 * i)), Math.round(bar * 0.3)),
        ),
        ...['Getting started', 'Installation', 'Deployment', 'Search', 'FAQ'].map((t, i) =>
          label(t, 0.55, '0x333333', Math.round(width * 0.015), bar + Math.round(linePx * (0.6 + 1.4 * i))),
        ),
      ].join(',')
    : 'null';
  const graph = [
    `${page('white', 'black', 1)},trim=duration=10,setpts=N/${fps}/TB,` +
      `crop=${width - side}:${height - bar}:0:'${scroll}',${chrome}[a]`,
    // In the browser, a link followed: another page in the same window.
    `${opts.chrome ? page('white', 'black', 2) : page('0x1e1e1e', '0xd4d4d4', 2)},trim=duration=8,setpts=N/${fps}/TB,` +
      `crop=${width - side}:${height - bar}:0:'${smooth}',${chrome}[b]`,
    `[a][b]concat=n=2:v=1:a=0,format=yuv420p[vout]`,
  ];
  await encode(outPath, [], graph.join(';'), limits, fps);
  return { path: outPath, durationS: 18, cuts: [10], texts: [] };
}

/** A slow pan across one detailed still picture (a fractal): one shot, no cuts at all. */
export async function generatePan(
  outPath: string,
  opts: { durationS?: number; pxPerS?: number; width?: number; height?: number; fps?: number; limits?: RunLimits } = {},
): Promise<KnownBoundaries> {
  const { width, height, fps, limits } = pictureOptions(opts);
  const dur = opts.durationS ?? 24;
  const speed = opts.pxPerS ?? 24;
  await encode(outPath, [], `${fractalPan({ width, height, fps, durationS: dur, pxPerS: speed })}[vout]`, limits, fps);
  return { path: outPath, durationS: dur, cuts: [], texts: [] };
}

/**
 * Camera-like footage with the transitions editors use: moving pictures
 * (test patterns that animate every frame) joined by a hard cut, a fade
 * through black and a cross-dissolve. A fade's boundary is its middle.
 */
export async function generateTransitions(
  outPath: string,
  opts: { width?: number; height?: number; fps?: number; limits?: RunLimits } = {},
): Promise<KnownBoundaries> {
  const { width, height, fps, limits } = pictureOptions(opts);
  const s = `s=${width}x${height}:r=${fps}`;
  const graph = [
    `testsrc2=${s}:d=5,hue=h=40[a]`,
    `mandelbrot=${s}:start_scale=3:end_scale=0.5,trim=duration=6,setpts=PTS-STARTPTS,fade=t=out:st=5:d=1[b]`,
    // A fixed seed: life's default is a new random grid each run, which moved the dissolve's
    // detected boundary (15.8 s in one run out of many, 16.4-16.6 usually).
    `life=${s}:mold=10:ratio=0.5:seed=1:death_color=0x203040:life_color=0xe0c040,scale=${width}:${height},trim=duration=6,setpts=PTS-STARTPTS,fade=t=in:st=0:d=1,format=yuv420p[c]`,
    `testsrc2=${s}:d=6,hue=h=200:s=1.5,format=yuv420p[d]`,
    `[b]format=yuv420p[b2]`,
    `[c][d]xfade=transition=fade:duration=1:offset=5[cd]`,
    `[a]format=yuv420p[a2]`,
    `[a2][b2][cd]concat=n=3:v=1:a=0[vout]`,
  ];
  await encode(outPath, [], graph.join(';'), limits, fps);
  // a: 0-5 (hard cut at 5), b: 5-11 fading out 10-11, c: 11-17 fading in 11-12 (boundary 11),
  // c→d dissolve 16-17 (boundary 16.5), d until 22.
  return { path: outPath, durationS: 22, cuts: [5, 11, 16.5], texts: [] };
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
