/*
 * glibc malloc settings for the processes that decode video and run models,
 * passed as GLIBC_TUNABLES when they start (glibc reads them only then). An
 * operator's own value of a tunable wins; a libc or kernel without the
 * feature ignores it. (To check a running process, do not trust
 * /proc/PID/environ: glibc 2.36 cuts the original string there after the
 * first tunable, while the process's own copy, the one it reads, has all.)
 *
 * Huge pages (every such process): malloc asks the kernel for transparent
 * huge pages for its large blocks (madvise), which Debian's and Ubuntu's
 * kernels grant by default. On a virtual machine a page fault is expensive,
 * and these processes touch fresh memory all the time: every decoder ffmpeg
 * opens (one per seek of a frame extraction) fills a new pool of frame
 * buffers, and each model call allocates its tensors. Faulting them in 4 KB
 * pages was half of a frame extraction's CPU; with 2 MB pages the 10-minute
 * talk's picture work took 15 % less ffmpeg CPU and the worker's OCR 14 %
 * less time (BENCHMARKS.md). Output is byte for byte the same; resident sets
 * grow a little (2 MB is committed at a time).
 *
 * A fixed mmap threshold (the worker and what it starts): every block of
 * 4 MiB or more is a mapping of its own, handed back to the kernel when
 * freed. By default glibc raises the threshold each time such a block is
 * freed (up to 32 MiB), after which a model's larger weights come from the
 * heap and, when the model is released to let another load
 * (WORKER_MODEL_MEMORY_MB), stay resident as holes the next model does not
 * fit. With the production-shaped models the 20-minute screen recording's
 * worker peaked at 2248-2304 MB instead of 2409-2616, in the same time; 1 MiB
 * saved another ~60 MB for 8 % more time (Whisper and the image stage slower;
 * BENCHMARKS.md). The API server loads its query encoders once and keeps
 * them, so it is left out.
 */

type Env = NodeJS.ProcessEnv;

/** `env` with a glibc tunable added unless it already names one. */
function withTunable(env: Env, name: string, value: string): Env {
  const own = env.GLIBC_TUNABLES ?? '';
  if (own.split(':').some((t) => t.startsWith(`${name}=`))) return env;
  return { ...env, GLIBC_TUNABLES: [own, `${name}=${value}`].filter(Boolean).join(':') };
}

/** `env` with huge pages asked of glibc's malloc, for a child process. */
export function withHugePages(env: Env = process.env): Env {
  return withTunable(env, 'glibc.malloc.hugetlb', '1');
}

/** The block size from which the worker's malloc maps each block on its own (above). */
export const WORKER_MMAP_THRESHOLD = 4 << 20;

/** `env` for a worker process: huge pages and the fixed mmap threshold. */
export function forWorker(env: Env = process.env): Env {
  return withTunable(withHugePages(env), 'glibc.malloc.mmap_threshold', String(WORKER_MMAP_THRESHOLD));
}
