/*
 * `heimdex person add|list|name`: enrol people from photos, see the people
 * the system knows (named and unnamed groups), name a group. Photos go up the
 * way videos do (createUpload → presigned upload), then createPerson.
 */
import path from 'node:path';
import { PHOTO_TYPES } from '../../core/media-types.ts';
import { Api } from '../api.ts';
import { UUID } from '../args.ts';
import { config, out, type Command } from '../command.ts';
import { CliError } from '../errors.ts';
import { displayWidth, padDisplay } from '../text-width.ts';
import { upload } from './ingest.ts';

export interface PersonRow {
  personId: string;
  name: string | null;
  faces: number;
  scenes: number;
}

const PERSON_FIELDS = 'id name faceCount sceneCount';
const ALL_PERSONS = `query { allPersons(orderBy: [NAME_ASC, ID_ASC]) { nodes { ${PERSON_FIELDS} } } }`;
const CREATE_PERSON = `mutation ($name: String!, $photoKeys: [String!]) { createPerson(name: $name, photoKeys: $photoKeys) { ${PERSON_FIELDS} } }`;
const RENAME = `mutation ($id: UUID!, $name: String!) { updatePersonById(input: { id: $id, personPatch: { name: $name } }) { person { ${PERSON_FIELDS} } } }`;

interface PersonNode {
  id: string;
  name: string | null;
  faceCount: number;
  sceneCount: number;
}

const row = (p: PersonNode): PersonRow => ({ personId: p.id, name: p.name, faces: p.faceCount, scenes: p.sceneCount });

export async function listPersons(api: Api): Promise<PersonRow[]> {
  const r = await api.graphql<{ allPersons: { nodes: PersonNode[] } }>(ALL_PERSONS);
  return r.allPersons.nodes.map(row);
}

/** A person id as given, or the one person with that name (case-insensitive). */
export async function resolvePerson(api: Api, nameOrId: string): Promise<string> {
  if (UUID.test(nameOrId)) return nameOrId;
  const want = nameOrId.trim().toLowerCase();
  const found = (await listPersons(api)).filter((p) => p.name?.toLowerCase() === want);
  if (found.length === 0)
    throw new CliError(`no person named "${nameOrId}"`, 'see: heimdex person list (or pass a person id)');
  if (found.length > 1)
    throw new CliError(
      `${found.length} people are named "${nameOrId}": ${found.map((p) => p.personId).join(', ')}`,
      'pass one of the ids instead',
    );
  return found[0]!.personId;
}

export const personAdd: Command = {
  name: 'person add',
  summary: 'Enrol a person from one or more photos of them',
  args: '"<name>" <photo>...',
  description:
    'Each photo (JPEG, PNG or WebP) must show the person alone, or clearly larger than anyone else. Faces already found in your videos that match are attached at once.',
  flags: { json: { type: 'boolean', description: 'Print {"personId", "name", "faces"}' } },
  async run(p) {
    const [name, ...photos] = p.positionals;
    if (!name?.trim() || photos.length === 0)
      throw new CliError('a name and at least one photo are needed', 'usage: heimdex person add "<name>" <photo>...');
    for (const f of photos) {
      if (!PHOTO_TYPES[path.extname(f).toLowerCase()]) throw new CliError(`${f} is not a JPEG, PNG or WebP photo`);
    }
    const api = new Api(config());
    const keys: string[] = [];
    for (const f of photos) keys.push(await upload(api, f, PHOTO_TYPES[path.extname(f).toLowerCase()]!));
    const r = await api.graphql<{ createPerson: PersonNode }>(CREATE_PERSON, { name: name.trim(), photoKeys: keys });
    const person = r.createPerson;
    if (p.flags.json) out(JSON.stringify({ personId: person.id, name: person.name, faces: person.faceCount }));
    else
      out(
        `enrolled ${person.name} (${person.id}): ${person.faceCount} face${person.faceCount === 1 ? '' : 's'}, in ${person.sceneCount} scene${person.sceneCount === 1 ? '' : 's'} so far`,
      );
    return 0;
  },
};

export const personList: Command = {
  name: 'person list',
  summary: 'The people Heimdex knows: enrolled, named and unnamed groups',
  flags: { json: { type: 'boolean', description: 'Print [{"personId", "name", "faces", "scenes"}]' } },
  async run(p) {
    const rows = await listPersons(new Api(config()));
    if (p.flags.json) {
      out(JSON.stringify(rows, null, 2));
      return 0;
    }
    if (!rows.length) {
      out('no people yet: heimdex person add "<name>" <photo>...');
      return 0;
    }
    // Names in Korean or Chinese take two terminal cells a character.
    const w = Math.max(4, ...rows.map((r) => displayWidth(r.name ?? '(unnamed)')));
    out(`${'name'.padEnd(w)}  ${'faces'.padStart(5)}  ${'scenes'.padStart(6)}  id`);
    for (const r of rows)
      out(
        `${padDisplay(r.name ?? '(unnamed)', w)}  ${String(r.faces).padStart(5)}  ${String(r.scenes).padStart(6)}  ${r.personId}`,
      );
    return 0;
  },
};

export const personName: Command = {
  name: 'person name',
  summary: 'Name (or rename) a person, e.g. an unnamed group of faces',
  args: '<personId> "<name>"',
  description: 'Naming a group also attaches the matching faces found earlier that were not yet in it.',
  flags: { json: { type: 'boolean', description: 'Print {"personId", "name", "faces", "scenes"}' } },
  async run(p) {
    const [id, ...rest] = p.positionals;
    const name = rest.join(' ').trim();
    if (!id || !UUID.test(id) || !name)
      throw new CliError('a person id and a name are needed', 'usage: heimdex person name <personId> "<name>"');
    const r = await new Api(config()).graphql<{ updatePersonById: { person: PersonNode } | null }>(RENAME, {
      id,
      name,
    });
    if (!r.updatePersonById) throw new CliError(`no person ${id}`, 'see: heimdex person list');
    const person = row(r.updatePersonById.person);
    if (p.flags.json) out(JSON.stringify(person));
    else out(`named ${person.personId} "${person.name}": ${person.faces} faces in ${person.scenes} scenes`);
    return 0;
  },
};
