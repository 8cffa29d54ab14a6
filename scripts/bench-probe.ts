/*
 * What `probe()` costs per file (worker/media/index.ts), median of five:
 *   node scripts/bench-probe.ts FILE...
 * Files whose video stream states no length of its own cost a read of the
 * file's tail (or, for a still picture, of everything after its frame).
 */
import { probe } from '../worker/media/index.ts';

const limits = { timeoutS: 600, maxMemoryMb: 0 };
console.log('| file | probe, median ms | duration s | picture ends s |');
console.log('| --- | --- | --- | --- |');
for (const file of process.argv.slice(2)) {
  const ms: number[] = [];
  let f = await probe(file, limits);
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    f = await probe(file, limits);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  console.log(`| ${file.split('/').pop()} | ${ms[2]!.toFixed(0)} | ${f.durationS} | ${f.pictureS} |`);
}
