/**
 * videos__transcribe {id, chunk?}: queued by pipeline_validated (chunk 0,
 * absent) and by the previous chunk. Subtitles (sidecar, then embedded) for
 * the whole video at once, or speech recognition over one chunk of
 * INDEX_CHUNK_S from where the previous chunk ended. app_private.pipeline_chunk_done
 * stages the chunk and queues the next one in the same transaction; after
 * the last it assembles the transcript (pipeline_transcribed) and queues
 * videos__index. A job of its own because recognising speech is the
 * pipeline's longest stage. Idempotent: a staged chunk is never redone (the
 * job returns at once) and a retried one is staged once.
 */
import type { Task } from 'graphile-worker';
import type { PipelineContext } from '../pipeline/context.ts';
import { cutsAlongside } from '../pipeline/cuts-ahead.ts';
import { chunkStart, guarded, payloadChunk, payloadId, readVideo } from '../pipeline/jobs.ts';
import { transcribeVideo } from '../pipeline/steps.ts';

export function videos__transcribe(ctx: PipelineContext): Task {
  return async (payload, helpers) => {
    const id = payloadId(payload);
    const chunk = payloadChunk(payload);
    const video = await readVideo(helpers, id);
    if (!video) return;
    await guarded(helpers, id, async () => {
      const start = await chunkStart(helpers, video, 'transcribe', chunk, ctx.config.worker.chunkS);
      if (!start) return;
      // The worker's thread would idle while the speech process works: the
      // index chunks' cut stages run meanwhile (cuts-ahead.ts).
      const { notes, ...part } = await transcribeVideo(
        ctx,
        video,
        start.progress,
        helpers.abortSignal,
        start.startS,
        cutsAlongside(ctx, video, (m) => helpers.logger.info(m), helpers.abortSignal),
      );
      for (const note of notes) await helpers.query('select app_private.pipeline_note($1, $2)', [id, note]);
      await helpers.query('select app_private.pipeline_chunk_done($1, $2, $3, $4)', [
        id,
        'transcribe',
        chunk,
        JSON.stringify(part),
      ]);
      helpers.logger.info(
        `video ${id} transcribe chunk ${chunk} done: ${part.start_s.toFixed(1)}-${part.end_s.toFixed(1)} s${part.last ? ' (last)' : ''}`,
      );
    });
  };
}
