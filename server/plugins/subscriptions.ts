/*
 * Subscription.videoChanged: live pipeline progress. The trigger in
 * 6-pipeline.sql notifies `heimdex:videos:<owner_id>`; a subscriber only
 * ever LISTENs on its own owner's channel (derived from the verified token,
 * never from an argument), and the Video is loaded under RLS. With a videoId
 * the stream opens with a "snapshot" event of the video's current state.
 */
import { jsonParse } from '@dataplan/json';
import { context, lambda, listen, SafeError, type GrafastSubscriber, type Step } from 'grafast';
import { extendSchema, gql } from 'graphile-utils';

/**
 * Wraps a LISTEN/NOTIFY subscriber so a topic can carry a filter: topics are
 * JSON {channel, videoId}; events for other videos are dropped before they
 * reach the GraphQL layer.
 */
export class VideoEvents implements GrafastSubscriber<Record<string, string>> {
  private inner: GrafastSubscriber<Record<string, string>>;
  constructor(inner: GrafastSubscriber<Record<string, string>>) {
    this.inner = inner;
  }
  subscribe(topic: string): AsyncIterableIterator<string> {
    const { channel, videoId } = JSON.parse(topic) as { channel: string; videoId: string | null };
    const it = this.inner.subscribe(channel) as AsyncIterableIterator<string>;
    const keep = (payload: string) => {
      if (!videoId) return true;
      try {
        return (JSON.parse(payload) as { id?: string }).id === videoId;
      } catch {
        return false;
      }
    };
    return {
      [Symbol.asyncIterator]() {
        return this;
      },
      async next() {
        for (;;) {
          const r = await it.next();
          if (r.done || keep(r.value)) return r;
        }
      },
      // Passing return() through is what makes the LISTEN stop when the client unsubscribes.
      return(v?: unknown) {
        return it.return ? it.return(v) : Promise.resolve({ done: true as const, value: undefined });
      },
      throw(e?: unknown) {
        return it.throw ? it.throw(e) : Promise.reject(e);
      },
    } as AsyncIterableIterator<string>;
  }
}

export const VideoChangesPlugin = extendSchema((build) => {
  const { videos } = build.input.pgRegistry.pgResources;
  return {
    typeDefs: gql`
      """
      A change to one of your videos' processing state.
      """
      type VideoChange {
        videoId: UUID!
        """
        snapshot (the state when a videoId subscription starts), insert or update
        """
        event: String!
        state: String!
        stage: String
        progress: Float!
        error: String
        video: Video
      }

      extend type Subscription {
        """
        Your videos' state changes as they happen; pass videoId to follow one video.
        """
        videoChanged(videoId: UUID): VideoChange!
      }
    `,
    objects: {
      Subscription: {
        plans: {
          videoChanged: {
            subscribePlan(_$root, fieldArgs) {
              const $claims = context().get('jwtClaims');
              const $topic = lambda([$claims, fieldArgs.getRaw('videoId')], ([claims, videoId]) => {
                if (!claims) throw new SafeError('Sign in to follow your videos');
                return JSON.stringify({
                  channel: `heimdex:videos:${claims.sub}`,
                  videoId: (videoId as string | null) ?? null,
                });
              });
              // Following one video starts with a snapshot of where it stands
              // (read under RLS), so a client that subscribes after a change
              // still learns the state without a separate query.
              const $video = videos.get({ id: fieldArgs.getRaw('videoId') });
              const $snapshot = lambda(
                [
                  $video.get('id'),
                  $video.get('state'),
                  $video.get('stage'),
                  $video.get('progress'),
                  $video.get('error'),
                ],
                ([id, state, stage, progress, error]) =>
                  id ? JSON.stringify({ id, state, stage, progress, error, event: 'snapshot' }) : undefined,
              );
              return listen(context().get('heimdexVideoEvents'), $topic, jsonParse, $snapshot as Step<string>);
            },
            plan($event) {
              return $event;
            },
          },
        },
      },
      VideoChange: {
        plans: {
          videoId($e: any) {
            return $e.get('id');
          },
          video($e: any) {
            return videos.get({ id: $e.get('id') });
          },
        },
      },
    },
  };
}, 'HeimdexVideoChangesPlugin');
