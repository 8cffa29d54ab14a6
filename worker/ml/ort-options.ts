/*
 * The thread options every onnxruntime session of a worker gets: the OCR
 * sessions (./ocr.ts) and those @huggingface/transformers creates (./index.ts),
 * in the worker, its speech process and the label process alike.
 */
import os from 'node:os';
import type { Config } from '../../core/config.ts';

export interface OrtThreadOptions {
  intraOpNumThreads: number;
  interOpNumThreads: number;
  extra: { session: { intra_op: { allow_spinning: '0' | '1' } } };
}

export function ortThreadOptions(config: Pick<Config, 'models'>): OrtThreadOptions {
  return {
    intraOpNumThreads: config.models.ortThreads > 0 ? config.models.ortThreads : os.availableParallelism(),
    // One intra-op pool per session and no inter-op pool: on a small box several
    // sessions each spawning a pool per core would oversubscribe the CPUs.
    interOpNumThreads: 1,
    // onnxruntime's intra-op threads busy-wait for the next parallel section
    // by default. A worker's cores are shared by ffmpeg, the speech process and
    // the picture models, so a spinning pool takes CPU the others are waiting
    // for: the 10-minute talk's speech process used 110 CPU-s instead of
    // 170-185 with spinning off, and was done ~20 s sooner (BENCHMARKS.md).
    extra: { session: { intra_op: { allow_spinning: config.models.ortSpinning ? '1' : '0' } } },
  };
}
