/*
 * Scene.thumbnailUrl, Scene.previewUrl and Video.playbackUrl: short-lived signed URLs, so the
 * browser fetches bytes straight from storage while access is still decided
 * per request (a user can only sign URLs for scenes RLS lets them see).
 */
import { lambda } from 'grafast';
import { extendSchema, gql } from 'graphile-utils';
import type { Storage } from '../../core/storage/types.ts';

const fmt = (n: number) => String(Number(n.toFixed(3)));

/**
 * The object a browser plays for a video: its copy where it has one (always
 * MP4), else the upload with the type it was uploaded as. searchScenes'
 * previewUrl uses it too.
 */
export function playedObject(v: { object_key: string; content_type: string | null; playback_key: string | null }): {
  key: string;
  contentType: string | null;
} {
  return v.playback_key
    ? { key: v.playback_key, contentType: 'video/mp4' }
    : { key: v.object_key, contentType: v.content_type };
}

export function makeSceneUrlsPlugin(deps: { storage: Storage | null; urlTtlS: number }) {
  const sign = (key: string | null, contentType?: string | null) =>
    key && deps.storage
      ? deps.storage.presignGet(key, { ttlS: deps.urlTtlS, contentType: contentType ?? undefined })
      : null;
  const playable = (key: unknown, type: unknown, copy: unknown) => {
    const o = playedObject({
      object_key: key as string,
      content_type: type as string | null,
      playback_key: copy as string | null,
    });
    return sign(o.key, o.contentType);
  };
  return extendSchema((build) => {
    const { videos } = build.input.pgRegistry.pgResources;
    return {
      typeDefs: gql`
        extend type Scene {
          """
          Short-lived URL of the keyframe JPEG (null before keyframes exist).
          """
          thumbnailUrl: String
          """
          Short-lived URL of the video with a #t=start,end fragment for this scene: the
          browser-playable copy once the video has one (see Video.playbackState), else
          the upload.
          """
          previewUrl: String
        }
        extend type Video {
          """
          Short-lived URL of what a browser plays: the browser-playable copy once the
          video has one (playbackState ready), else the upload.
          """
          playbackUrl: String
        }
      `,
      objects: {
        Scene: {
          plans: {
            thumbnailUrl($scene: any) {
              return lambda($scene.get('keyframe_key'), (key) => sign(key as string | null));
            },
            previewUrl($scene: any) {
              const $video = videos.get({ id: $scene.get('video_id') });
              return lambda(
                [
                  $video.get('object_key'),
                  $video.get('content_type'),
                  $video.get('playback_key'),
                  $scene.get('start_s'),
                  $scene.get('end_s'),
                ],
                async ([key, type, copy, start, end]) => {
                  const url = await playable(key, type, copy);
                  return url ? `${url}#t=${fmt(start as number)},${fmt(end as number)}` : null;
                },
              );
            },
          },
        },
        Video: {
          plans: {
            playbackUrl($video: any) {
              return lambda(
                [$video.get('object_key'), $video.get('content_type'), $video.get('playback_key')],
                ([key, type, copy]) => playable(key, type, copy),
              );
            },
          },
        },
      },
    };
  }, 'HeimdexSceneUrlsPlugin');
}
