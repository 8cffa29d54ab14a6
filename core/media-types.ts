/*
 * The file types Heimdex takes, by extension: one list for the server's
 * default ALLOWED_CONTENT_TYPES, the CLI's `ingest` and the web app's upload
 * (browsers often leave a file's type empty or give one of their own for
 * .mkv, .mts or .srt, so the extension decides there). Pure data, no Node
 * imports: the web bundle includes it.
 *
 * Every video type here is a container the worker's demuxer allow-list
 * (worker/media/run.ts) opens: camcorders write MPEG-TS (.mts, .m2ts),
 * older phones 3GP, screen recorders and old downloads FLV and WMV.
 */

export const VIDEO_TYPES: Record<string, string> = {
  '.mp4': 'video/mp4',
  '.m4v': 'video/x-m4v',
  '.mov': 'video/quicktime',
  '.webm': 'video/webm',
  '.mkv': 'video/x-matroska',
  '.avi': 'video/x-msvideo',
  '.mpg': 'video/mpeg',
  '.mpeg': 'video/mpeg',
  '.ogv': 'video/ogg',
  '.ts': 'video/mp2t',
  '.mts': 'video/mp2t',
  '.m2ts': 'video/mp2t',
  '.3gp': 'video/3gpp',
  '.3g2': 'video/3gpp2',
  '.flv': 'video/x-flv',
  '.wmv': 'video/x-ms-wmv',
};

export const SUBTITLE_TYPES: Record<string, string> = {
  '.srt': 'application/x-subrip',
  '.vtt': 'text/vtt',
  '.ass': 'text/x-ssa',
  '.ssa': 'text/x-ssa',
};

/** The photo types enrolment takes (createPerson, addPersonPhotos). */
export const PHOTO_TYPES: Record<string, string> = {
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.png': 'image/png',
  '.webp': 'image/webp',
};

/** Every content type above, once each, in the order listed. */
export const ALL_CONTENT_TYPES: string[] = [
  ...new Set([...Object.values(VIDEO_TYPES), ...Object.values(SUBTITLE_TYPES), ...Object.values(PHOTO_TYPES)]),
];
