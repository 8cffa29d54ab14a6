/*
 * What a browser-playable copy costs (worker/media/playback.ts): generates a
 * phone-like video (1080p30 HEVC with sound, a moving picture with grain, as
 * an iPhone records by default) and one for the cheap path (H.264 in
 * Matroska with AC-3 sound, as OBS writes it), then makes each copy the way
 * the worker does, part by part, and joins it:
 *   node scripts/bench-playback.ts [--seconds 120] [--part-s 60] [--json]
 * Reports wall and CPU seconds of the ffmpeg runs (this process's reaped
 * children), the realtime factor (wall ÷ video length) and the sizes.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { assembleCopy, partRange, playbackParts, playbackPlan, probe, transcodePart } from '../worker/media/index.ts';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const seconds = arg('--seconds', 120);
const partS = arg('--part-s', 60);
const json = process.argv.includes('--json');
const limits = { timeoutS: 3600, maxMemoryMb: 0 };
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'heimdex-bench-playback-'));

/** CPU seconds of reaped children (utime + stime of waited-for processes, /proc/self/stat fields 16-17). */
function childCpuS(): number {
  const f = fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1]!.split(' ');
  return (Number(f[13]) + Number(f[14])) / 100;
}

function generate(name: string, codecArgs: string[]): string {
  const out = path.join(dir, name);
  execFileSync('ffmpeg', [
    ...['-v', 'error', '-y', '-f', 'lavfi', '-i', `testsrc2=s=1920x1080:r=30:d=${seconds},noise=alls=6:allf=t`],
    ...['-f', 'lavfi', '-i', `sine=f=330:d=${seconds}`, ...codecArgs, '-shortest', out],
  ]);
  return out;
}

async function copy(file: string) {
  const f = await probe(file, limits);
  const plan = playbackPlan(f);
  const cpu0 = childCpuS();
  const t0 = performance.now();
  const parts = [];
  let partsWall = 0;
  if (plan === 'transcode') {
    const n = playbackParts(f.pictureS, partS);
    for (let i = 0; i < n; i++) {
      const p = path.join(dir, `${path.basename(file)}-${i}.mp4`);
      const s = performance.now();
      await transcodePart(file, f, partRange(i, n, partS), p, limits);
      partsWall += (performance.now() - s) / 1000;
      parts.push({ file: p, lengthS: i === n - 1 ? null : partS });
    }
  }
  const out = path.join(dir, `${path.basename(file)}-copy.mp4`);
  const j0 = performance.now();
  await assembleCopy(file, f, plan === 'transcode' ? 'transcode' : 'remux', parts, out, dir, limits);
  const wall = (performance.now() - t0) / 1000;
  return {
    video: path.basename(file),
    plan,
    parts: parts.length,
    wallS: +wall.toFixed(2),
    partsWallS: +partsWall.toFixed(2),
    joinWallS: +((performance.now() - j0) / 1000).toFixed(2),
    cpuS: +(childCpuS() - cpu0).toFixed(2),
    realtime: +(wall / f.durationS).toFixed(3),
    sourceMB: +(fs.statSync(file).size / 1e6).toFixed(1),
    copyMB: +(fs.statSync(out).size / 1e6).toFixed(1),
  };
}

try {
  const hevc = generate('phone-hevc.mp4', [
    ...['-c:v', 'libx265', '-preset', 'ultrafast', '-x265-params', 'log-level=error', '-tag:v', 'hvc1'],
    ...['-c:a', 'aac'],
  ]);
  const obs = generate('obs.mkv', ['-c:v', 'libx264', '-preset', 'veryfast', '-c:a', 'ac3']);
  const rows = [await copy(hevc), await copy(obs)];
  if (json) console.log(JSON.stringify({ seconds, partS, cores: os.cpus().length, rows }, null, 2));
  else {
    console.log(`${seconds} s of 1080p30, parts of ${partS} s, ${os.cpus().length} cores`);
    console.log('| video | plan | parts | wall s (parts + join) | CPU s | × realtime | source MB | copy MB |');
    console.log('| --- | --- | --- | --- | --- | --- | --- | --- |');
    for (const r of rows)
      console.log(
        `| ${r.video} | ${r.plan} | ${r.parts} | ${r.wallS} (${r.partsWallS} + ${r.joinWallS}) | ${r.cpuS} | ${r.realtime} | ${r.sourceMB} | ${r.copyMB} |`,
      );
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
