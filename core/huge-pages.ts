/*
 * The environment of the processes that decode video and run models: glibc's
 * malloc asks the kernel for transparent huge pages for its large blocks
 * (madvise), which Debian's and Ubuntu's kernels grant by default.
 *
 * On a virtual machine a page fault is expensive, and these processes touch
 * fresh memory all the time: every decoder ffmpeg opens (one per seek of a
 * frame extraction) fills a new pool of frame buffers, and each model call
 * allocates its tensors. Faulting them in 4 KB pages was half of a frame
 * extraction's CPU; with 2 MB pages the 10-minute talk's picture work took
 * 15 % less ffmpeg CPU and the worker's OCR 14 % less time (BENCHMARKS.md).
 * Output is byte for byte the same; resident sets grow a little (2 MB is
 * committed at a time: 20-140 MB for the worker with production-sized
 * models). A libc or kernel without the feature ignores the setting, and an
 * operator's own glibc.malloc.hugetlb wins.
 */

const TUNABLE = 'glibc.malloc.hugetlb';

/** `env` with huge pages asked of glibc's malloc, for a child process. */
export function withHugePages(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const own = env.GLIBC_TUNABLES ?? '';
  if (own.split(':').some((t) => t.startsWith(`${TUNABLE}=`))) return env;
  return { ...env, GLIBC_TUNABLES: [own, `${TUNABLE}=1`].filter(Boolean).join(':') };
}
