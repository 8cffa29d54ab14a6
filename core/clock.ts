/*
 * Times as people read them in every interface: the CLI's tables, the web
 * app, transcripts. On its own so the web app's first screen loads only this.
 */

/** 75.4 → "1:15"; 3725 → "1:02:05". Seconds are floored, as a player shows them. */
export function clock(seconds: number): string {
  const s = Math.max(0, Math.floor(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}
