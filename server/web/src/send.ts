/*
 * Sending one file: createUpload (the server picks the key and signs the
 * request), then the bytes straight to storage. Shared by the video upload
 * and the enrolment photos of the People page.
 */
import type { Api } from './api.ts';

interface Ticket {
  objectKey: string;
  method: string;
  url: string;
  fields: Record<string, string>;
  headers: Record<string, string>;
}

/** createUpload, then the bytes straight to storage (XHR: fetch cannot report upload progress). */
export async function send(api: Api, file: File, type: string, progress: (sent: number) => void): Promise<string> {
  const { createUpload: t } = await api.query<{ createUpload: Ticket }>(
    `mutation($n: String!, $s: BigInt!, $t: String!) { createUpload(filename: $n, byteSize: $s, contentType: $t) { objectKey method url fields headers } }`,
    { n: file.name, s: String(file.size), t: type },
  );
  await new Promise<void>((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(t.method, t.url);
    xhr.upload.onprogress = (e) => progress(e.loaded);
    xhr.onload = () =>
      xhr.status >= 200 && xhr.status < 300
        ? resolve()
        : reject(
            new Error(
              reason(xhr.responseText) ??
                `storage answered ${xhr.status}${xhr.responseText ? `: ${xhr.responseText.slice(0, 200)}` : ''}`,
            ),
          );
    xhr.onerror = () => reject(new Error('the upload was interrupted'));
    if (t.method === 'POST') {
      const form = new FormData();
      for (const [k, v] of Object.entries(t.fields)) form.append(k, v);
      form.append('file', file);
      xhr.send(form);
    } else {
      for (const [k, v] of Object.entries(t.headers)) xhr.setRequestHeader(k, v);
      xhr.send(file);
    }
  });
  progress(file.size);
  return t.objectKey;
}

/** Heimdex's own storage answers {error, message}: the message is for the user (e.g. the disk is full). */
function reason(body: string): string | undefined {
  try {
    const m = (JSON.parse(body) as { message?: unknown }).message;
    return typeof m === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}
