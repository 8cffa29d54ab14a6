/*
 * Enrolment photos: chosen, previewed, uploaded with createUpload, then sent
 * by key to createPerson or addPersonPhotos. The API checks every photo
 * before writing anything and names the one it refuses ("No face was found
 * in photo …"); the error is shown on that photo, which the user can remove
 * before trying again. Photos already uploaded are not sent twice.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import type { Api } from './api.ts';
import { bytes, photoNamedIn } from './format.ts';
import { send } from './send.ts';
import { photoCheck } from './upload.ts';

export interface Photo {
  id: number;
  file: File;
  /** A blob: URL of the file for the preview. */
  preview: string;
  type?: string;
  key?: string;
  /** Why this photo cannot be used: refused before upload, or named by the API. */
  problem?: string;
  uploading?: boolean;
}

export interface PhotoSet {
  photos: Photo[];
  add(files: File[]): void;
  remove(id: number): void;
  clear(): void;
  /** Uploads what is not uploaded yet and returns every key, in order. */
  upload(api: Api): Promise<string[]>;
  /** Puts an API error on the photo it names; false when it names none. */
  blame(message: string): boolean;
}

export function usePhotoSet(api: Api): PhotoSet {
  const [photos, setPhotos] = useState<Photo[]>([]);
  const next = useRef(0);
  const current = useRef(photos);
  current.current = photos;
  useEffect(() => () => current.current.forEach((p) => URL.revokeObjectURL(p.preview)), []);
  const patch = (id: number, p: Partial<Photo>) => setPhotos((ps) => ps.map((x) => (x.id === id ? { ...x, ...p } : x)));

  return {
    photos,
    add(files) {
      const added = files.map((file) => {
        const check = photoCheck(file, api.config.uploads, bytes);
        return {
          id: ++next.current,
          file,
          preview: URL.createObjectURL(file),
          ...('type' in check ? { type: check.type } : { problem: check.reason }),
        };
      });
      setPhotos((ps) => [...ps, ...added]);
    },
    remove(id) {
      const p = current.current.find((x) => x.id === id);
      if (p) URL.revokeObjectURL(p.preview);
      setPhotos((ps) => ps.filter((x) => x.id !== id));
    },
    clear() {
      current.current.forEach((p) => URL.revokeObjectURL(p.preview));
      setPhotos([]);
    },
    async upload(api) {
      const list = current.current;
      const bad = list.find((p) => p.problem);
      if (bad) throw new Error(`Remove ${bad.file.name} first: ${bad.problem}`);
      const keys: string[] = [];
      for (const p of list) {
        if (p.key) {
          keys.push(p.key);
          continue;
        }
        patch(p.id, { uploading: true });
        try {
          const key = await send(api, p.file, p.type!, () => {});
          p.key = key;
          patch(p.id, { key, uploading: false });
          keys.push(key);
        } catch (e) {
          patch(p.id, { uploading: false, problem: `upload failed: ${(e as Error).message}` });
          throw e;
        }
      }
      return keys;
    },
    blame(message) {
      const list = current.current;
      const key = photoNamedIn(
        message,
        list.flatMap((p) => (p.key ? [p.key] : [])),
      );
      const p = list.find((x) => x.key && x.key === key);
      if (!p) return false;
      patch(p.id, { problem: message });
      return true;
    },
  };
}

/** The file input and the chosen photos, each with its preview, its problem if any, and a remove button. */
export function PhotoField({ set, label, hint }: { set: PhotoSet; label: string; hint: string }) {
  return (
    <div class="photo-field">
      <label class="drop small">
        <input
          class="visually-hidden"
          type="file"
          multiple
          accept="image/jpeg,image/png,image/webp"
          aria-label={label}
          onChange={(e) => {
            const input = e.currentTarget;
            set.add([...(input.files ?? [])]);
            input.value = '';
          }}
        />
        <strong>{label}</strong>
        <span>{hint}</span>
      </label>
      {set.photos.length > 0 && (
        <ul class="photos" aria-label="Chosen photos">
          {set.photos.map((p) => (
            <li key={p.id} class={p.problem ? 'bad' : undefined}>
              <img src={p.preview} alt="" />
              <span class="name">{p.file.name}</span>
              {p.problem ? (
                <span class="status error" role="alert">
                  {p.problem}
                </span>
              ) : (
                <span class="status quiet">{p.uploading ? 'uploading…' : p.key ? 'uploaded' : bytes(p.file.size)}</span>
              )}
              <button type="button" class="quiet" aria-label={`Remove ${p.file.name}`} onClick={() => set.remove(p.id)}>
                Remove
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
