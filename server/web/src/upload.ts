/*
 * Sorting dropped files into uploads before any byte is sent: videos, the
 * subtitles beside each (same base name), and files refused with a reason
 * (too large, a type the server does not accept, subtitles with no video).
 * Pure (no DOM) so the node tests check it directly; it only needs each
 * file's name, size and type.
 */
import { PHOTO_TYPES, SUBTITLE_TYPES, VIDEO_TYPES } from '../../../core/media-types.ts';

export interface FileLike {
  name: string;
  size: number;
  type: string;
}

export interface PlannedUpload<F extends FileLike> {
  video: F;
  videoType: string;
  subtitles?: F;
  subtitleType?: string;
  title: string;
}

export interface Refusal<F extends FileLike> {
  file: F;
  reason: string;
}

/** Browsers often leave File.type empty (.mkv, .srt) or give their own (.mts); the extension decides then. */
const BY_EXTENSION: Record<string, string> = { ...VIDEO_TYPES, ...SUBTITLE_TYPES };

/** ".mkv" of "Trip.MKV"; '' without one. */
const extension = (name: string) => (/\.[^.]+$/.exec(name)?.[0] ?? '').toLowerCase();
const isSubtitle = (name: string) => extension(name) in SUBTITLE_TYPES;
const baseName = (name: string) => name.replace(/\.[^.]+$/, '');

export function contentTypeOf(f: FileLike, accepted: string[]): string {
  const ext = extension(f.name);
  if (isSubtitle(f.name)) return BY_EXTENSION[ext]!;
  const given = f.type.split(';')[0]!.trim().toLowerCase();
  if (given && accepted.includes(given)) return given;
  return BY_EXTENSION[ext] ?? given;
}

export function planUploads<F extends FileLike>(
  files: F[],
  limits: { maxBytes: number; contentTypes: string[] },
  formatBytes: (n: number) => string = String,
): { uploads: PlannedUpload<F>[]; refused: Refusal<F>[] } {
  const accepted = limits.contentTypes.map((t) => t.toLowerCase());
  const refused: Refusal<F>[] = [];
  const subtitles = new Map<string, F>();
  const videos: F[] = [];
  for (const f of files) {
    const type = contentTypeOf(f, accepted);
    if (isSubtitle(f.name)) {
      subtitles.set(baseName(f.name), f);
      continue;
    }
    if (!type.startsWith('video/') || !accepted.includes(type)) {
      refused.push({ file: f, reason: `not a video type this server accepts (${type || 'unknown type'})` });
    } else if (f.size === 0) {
      refused.push({ file: f, reason: 'the file is empty' });
    } else if (f.size > limits.maxBytes) {
      refused.push({
        file: f,
        reason: `too large: ${formatBytes(f.size)}, the limit is ${formatBytes(limits.maxBytes)}`,
      });
    } else {
      videos.push(f);
    }
  }
  const used = new Set<string>();
  const uploads = videos.map((video) => {
    const base = baseName(video.name);
    const sub = subtitles.get(base);
    const plan: PlannedUpload<F> = { video, videoType: contentTypeOf(video, accepted), title: base };
    if (sub) {
      used.add(base);
      const subType = contentTypeOf(sub, accepted);
      if (!accepted.includes(subType))
        refused.push({ file: sub, reason: `subtitles of type ${subType} are not accepted` });
      else if (sub.size > limits.maxBytes) refused.push({ file: sub, reason: 'the subtitle file is too large' });
      else Object.assign(plan, { subtitles: sub, subtitleType: subType });
    }
    return plan;
  });
  for (const [base, sub] of subtitles) {
    if (!used.has(base)) refused.push({ file: sub, reason: `no video named ${base}.* was chosen with it` });
  }
  return { uploads, refused };
}

/** A photo's content type, or the reason it cannot be used, decided before it is uploaded. */
export function photoCheck(
  f: FileLike,
  limits: { maxBytes: number; contentTypes: string[] },
  formatBytes: (n: number) => string = String,
): { type: string } | { reason: string } {
  const given = f.type.split(';')[0]!.trim().toLowerCase();
  const type = Object.values(PHOTO_TYPES).includes(given) ? given : PHOTO_TYPES[extension(f.name)];
  if (!type || !limits.contentTypes.map((t) => t.toLowerCase()).includes(type))
    return { reason: `not a JPEG, PNG or WebP photo (${given || 'unknown type'})` };
  if (f.size === 0) return { reason: 'the file is empty' };
  if (f.size > limits.maxBytes)
    return { reason: `too large: ${formatBytes(f.size)}, the limit is ${formatBytes(limits.maxBytes)}` };
  return { type };
}
