/*
 * The upload flow end to end over real HTTP, for both storage drivers:
 * sign up -> createUpload -> send the bytes to the returned URL as a browser
 * would -> createVideo -> a row in state 'uploaded' with its job queued. Every
 * refusal is checked to leave no row behind (counted as root, past RLS).
 */
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fsp from 'node:fs/promises';
import { after, describe, it } from 'node:test';
import { FsStorage } from '../../core/storage/fs.ts';
import type { Storage } from '../../core/storage/types.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/db.ts';
import { bytes, startFsHarness, startS3Harness, uploadAsBrowser } from '../storage/harness.ts';
import { gql, signup, startTestServer } from './helpers.ts';

const MAX = 100_000;

const CREATE_UPLOAD = `mutation($filename: String!, $byteSize: BigInt!, $contentType: String!) {
  createUpload(filename: $filename, byteSize: $byteSize, contentType: $contentType) {
    objectKey method url fields headers expiresAt maxBytes
  }
}`;
const CREATE_VIDEO = `mutation($objectKey: String!, $title: String, $subtitleKey: String) {
  createVideo(objectKey: $objectKey, title: $title, subtitleKey: $subtitleKey) {
    ownerId title filename objectKey byteSize contentType state progress
  }
}`;

const drivers: Array<[string, () => Promise<{ storage: Storage; close(): Promise<void> }>]> = [
  ['fs', startFsHarness],
  ['s3', () => startS3Harness()],
];

interface Setup {
  db: TestDatabase;
  url: string;
  storage: Storage;
  alice: Awaited<ReturnType<typeof signup>>;
  bob: Awaited<ReturnType<typeof signup>>;
}

// Set up at the top level: node:test runs an after() registered inside a
// before() hook right after that hook, which would close everything early.
async function setUp(startStorage: () => Promise<{ storage: Storage; close(): Promise<void> }>): Promise<Setup> {
  const db = await createTestDatabase();
  const h = await startStorage();
  after(() => h.close());
  const storage = h.storage;
  const srv = await startTestServer(db, { MAX_UPLOAD_BYTES: String(MAX) }, { storage, models: null });
  // The fs driver's URLs point at the server serving them: known only now (port 0).
  if (storage instanceof FsStorage) storage.setPublicUrl(srv.url);
  return { db, url: srv.url, storage, alice: await signup(srv.url), bob: await signup(srv.url) };
}

const setups = await Promise.all(drivers.map(([, start]) => setUp(start)));

for (const [i, [driver]] of drivers.entries()) {
  describe(`uploads over HTTP (${driver} storage)`, () => {
    const { db, url, storage, alice, bob } = setups[i]!;

    const rowCount = async () =>
      Number((await db.rootPool.query('select count(*) from app_public.videos')).rows[0].count);
    const codeOf = (r: { body: any }) => r.body?.errors?.[0]?.extensions?.code as string | undefined;

    async function ticketFor(token: string, filename: string, size: number, contentType = 'video/mp4') {
      const r = await gql(url, CREATE_UPLOAD, { filename, byteSize: String(size), contentType }, token);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const t = r.body.data.createUpload;
      return { ...t, expiresAt: new Date(t.expiresAt), maxBytes: Number(t.maxBytes) };
    }

    it('createUpload -> upload -> createVideo gives an uploaded row with its validate job queued', async () => {
      const body = bytes(5000, 9);
      const ticket = await ticketFor(alice.token, 'Summer Trip (final).MP4', body.length);
      assert.match(ticket.objectKey, new RegExp(`^u/${alice.id}/[0-9a-f-]{36}/Summer_Trip_final\\.mp4$`));
      assert.equal(ticket.method, driver === 's3' ? 'POST' : 'PUT');
      assert.equal(ticket.maxBytes, body.length);
      const up = await uploadAsBrowser(ticket, body);
      assert.ok(up.ok, `upload: ${up.status} ${await up.text()}`);

      const subs = Buffer.from('WEBVTT\n\n00:00.000 --> 00:01.000\nhello\n');
      const subTicket = await ticketFor(alice.token, 'trip.vtt', subs.length, 'text/vtt');
      assert.ok((await uploadAsBrowser(subTicket, subs)).ok);

      const r = await gql(
        url,
        CREATE_VIDEO,
        { objectKey: ticket.objectKey, title: 'Summer', subtitleKey: subTicket.objectKey },
        alice.token,
      );
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const v = r.body.data.createVideo;
      assert.equal(v.ownerId, alice.id);
      assert.equal(v.title, 'Summer');
      assert.equal(v.filename, 'Summer_Trip_final.mp4');
      assert.equal(v.objectKey, ticket.objectKey);
      assert.equal(v.byteSize, '5000');
      assert.equal(v.contentType, 'video/mp4');
      assert.equal(v.state, 'uploaded');

      const { rows } = await db.rootPool.query(
        'select id, owner_id, state, subtitle_key, byte_size from app_public.videos where object_key = $1',
        [ticket.objectKey],
      );
      assert.equal(rows.length, 1);
      const { id, ...row } = rows[0];
      assert.deepEqual(row, {
        owner_id: alice.id,
        state: 'uploaded',
        subtitle_key: subTicket.objectKey,
        byte_size: '5000',
      });
      const jobs = await db.rootPool.query(
        `select t.identifier as task_identifier, j.key
           from graphile_worker._private_jobs j join graphile_worker._private_tasks t on t.id = j.task_id
          where j.payload->>'id' = $1`,
        [id],
      );
      assert.deepEqual(jobs.rows, [{ task_identifier: 'videos__validate', key: `videos__validate:${id}` }]);

      // The same object again, even concurrently, is one video.
      const again = await gql(url, CREATE_VIDEO, { objectKey: ticket.objectKey }, alice.token);
      assert.equal(codeOf(again), 'CONFLICT');
      assert.equal(
        (
          await db.rootPool.query('select count(*)::int as n from app_public.videos where object_key = $1', [
            ticket.objectKey,
          ])
        ).rows[0].n,
        1,
      );
    });

    it('two concurrent createVideo calls for one object create one row', async () => {
      const ticket = await ticketFor(alice.token, 'race.mp4', 100);
      assert.ok((await uploadAsBrowser(ticket, bytes(100))).ok);
      const results = await Promise.all(
        [1, 2, 3].map(() => gql(url, CREATE_VIDEO, { objectKey: ticket.objectKey }, alice.token)),
      );
      const ok = results.filter((r) => !r.body.errors);
      const conflicts = results.filter((r) => codeOf(r) === 'CONFLICT');
      assert.equal(ok.length, 1, JSON.stringify(results.map((r) => r.body)));
      assert.equal(conflicts.length, 2);
      assert.equal(
        (
          await db.rootPool.query('select count(*)::int as n from app_public.videos where object_key = $1', [
            ticket.objectKey,
          ])
        ).rows[0].n,
        1,
      );
      assert.equal(ok[0]!.body.data.createVideo.title, 'race');
    });

    it('refuses uploads announced too large, empty, of a wrong type, or anonymous', async () => {
      const before = await rowCount();
      const cases: Array<[Record<string, unknown>, string | undefined, string]> = [
        [
          { filename: 'big.mp4', byteSize: String(MAX + 1), contentType: 'video/mp4' },
          alice.token,
          'PAYLOAD_TOO_LARGE',
        ],
        [
          { filename: 'huge.mp4', byteSize: '99999999999999999999', contentType: 'video/mp4' },
          alice.token,
          'PAYLOAD_TOO_LARGE',
        ],
        [{ filename: 'empty.mp4', byteSize: '0', contentType: 'video/mp4' }, alice.token, 'BAD_USER_INPUT'],
        [{ filename: 'page.html', byteSize: '10', contentType: 'text/html' }, alice.token, 'UNSUPPORTED_MEDIA_TYPE'],
        [{ filename: '', byteSize: '10', contentType: 'video/mp4' }, alice.token, 'BAD_USER_INPUT'],
        [{ filename: 'anon.mp4', byteSize: '10', contentType: 'video/mp4' }, undefined, 'UNAUTHENTICATED'],
      ];
      for (const [vars, token, code] of cases) {
        const r = await gql(url, CREATE_UPLOAD, vars, token);
        assert.equal(codeOf(r), code, `${JSON.stringify(vars)}: ${JSON.stringify(r.body)}`);
        assert.ok(r.body.errors[0].message.length > 10);
      }
      const anonVideo = await gql(url, CREATE_VIDEO, { objectKey: `u/${alice.id}/x/y.mp4` });
      assert.equal(codeOf(anonVideo), 'UNAUTHENTICATED');
      assert.equal(await rowCount(), before);
    });

    it('an upload larger or smaller than announced never becomes a video', async () => {
      const before = await rowCount();
      for (const actual of [1500, 999]) {
        const ticket = await ticketFor(alice.token, `liar-${actual}.mp4`, 1000);
        const up = await uploadAsBrowser(ticket, bytes(actual));
        await up.arrayBuffer();
        if (driver === 'fs') {
          // The fs route holds the body to the signed size itself.
          assert.equal(up.status, actual > 1000 ? 413 : 400);
          assert.equal(await storage.stat(ticket.objectKey), null);
        } else {
          // s3rver ignores POST policies (MinIO/AWS answer 400 here); the signed size
          // travels as metadata so createVideo still catches it, and removes the object.
          assert.ok(up.ok);
        }
        const r = await gql(url, CREATE_VIDEO, { objectKey: ticket.objectKey }, alice.token);
        assert.equal(codeOf(r), driver === 'fs' ? 'NOT_FOUND' : 'SIZE_MISMATCH', JSON.stringify(r.body));
        assert.equal(await storage.stat(ticket.objectKey), null);
      }
      assert.equal(await rowCount(), before);
    });

    it("refuses objects that are someone else's, missing, oversize or of a wrong type", async () => {
      const before = await rowCount();
      const ticket = await ticketFor(alice.token, 'mine.mp4', 50);
      assert.ok((await uploadAsBrowser(ticket, bytes(50))).ok);

      const stolen = await gql(url, CREATE_VIDEO, { objectKey: ticket.objectKey }, bob.token);
      assert.equal(codeOf(stolen), 'FORBIDDEN');
      assert.equal(
        (await storage.stat(ticket.objectKey))?.size,
        50,
        "a refused key in someone else's folder is left alone",
      );
      const stolenSubs = await gql(
        url,
        CREATE_VIDEO,
        { objectKey: `u/${bob.id}/${crypto.randomUUID()}/x.mp4`, subtitleKey: ticket.objectKey },
        bob.token,
      );
      assert.ok(['FORBIDDEN', 'NOT_FOUND'].includes(codeOf(stolenSubs)!));

      const never = await ticketFor(alice.token, 'never-sent.mp4', 10);
      assert.equal(codeOf(await gql(url, CREATE_VIDEO, { objectKey: never.objectKey }, alice.token)), 'NOT_FOUND');

      for (const bad of ['../../etc/passwd', `u/${alice.id}/../${bob.id}/x.mp4`]) {
        assert.equal(codeOf(await gql(url, CREATE_VIDEO, { objectKey: bad }, alice.token)), 'BAD_USER_INPUT');
      }

      // Objects written past the ticket (e.g. straight into the bucket) are checked too.
      const html = `u/${alice.id}/${crypto.randomUUID()}/page.mp4`;
      await storage.put(html, Buffer.from('<script>alert(1)</script>'), 'text/html');
      assert.equal(codeOf(await gql(url, CREATE_VIDEO, { objectKey: html }, alice.token)), 'UNSUPPORTED_MEDIA_TYPE');
      assert.equal(await storage.stat(html), null);

      const subsAsVideo = `u/${alice.id}/${crypto.randomUUID()}/subs.vtt`;
      await storage.put(subsAsVideo, Buffer.from('WEBVTT\n'), 'text/vtt');
      assert.equal(
        codeOf(await gql(url, CREATE_VIDEO, { objectKey: subsAsVideo }, alice.token)),
        'UNSUPPORTED_MEDIA_TYPE',
      );

      const big = `u/${alice.id}/${crypto.randomUUID()}/big.mp4`;
      await storage.put(big, bytes(MAX + 1), 'video/mp4');
      assert.equal(codeOf(await gql(url, CREATE_VIDEO, { objectKey: big }, alice.token)), 'PAYLOAD_TOO_LARGE');
      assert.equal(await storage.stat(big), null);

      assert.equal(await rowCount(), before);
      // And the legitimate owner can still register it afterwards.
      const ok = await gql(url, CREATE_VIDEO, { objectKey: ticket.objectKey }, alice.token);
      assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
      assert.equal(await rowCount(), before + 1);
    });

    it('hides the generated createVideo and keeps the video readable only by its owner', async () => {
      const ticket = await ticketFor(bob.token, 'bob.webm', 20, 'video/webm');
      assert.ok((await uploadAsBrowser(ticket, bytes(20))).ok);
      const r = await gql(url, CREATE_VIDEO, { objectKey: ticket.objectKey }, bob.token);
      assert.equal(r.body.errors, undefined, JSON.stringify(r.body.errors));
      const list = `{ allVideos { nodes { objectKey contentType } } }`;
      const asAlice = await gql(url, list, {}, alice.token);
      assert.equal(
        asAlice.body.data.allVideos.nodes.some((n: any) => n.objectKey === ticket.objectKey),
        false,
      );
      const asBob = await gql(url, list, {}, bob.token);
      assert.deepEqual(
        asBob.body.data.allVideos.nodes.filter((n: any) => n.objectKey === ticket.objectKey),
        [{ objectKey: ticket.objectKey, contentType: 'video/webm' }],
      );
      const schema = await gql(url, `{ __type(name: "Mutation") { fields { name args { name } } } }`, {}, bob.token);
      const fields = schema.body.data.__type.fields as Array<{ name: string; args: Array<{ name: string }> }>;
      const createVideo = fields.filter((f) => f.name === 'createVideo');
      // Ours, not PostGraphile's generated createVideo(input:), which would insert unchecked.
      assert.deepEqual(
        createVideo.map((f) => f.args.map((a) => a.name)),
        [['objectKey', 'title', 'subtitleKey']],
      );
      assert.deepEqual(
        fields.find((f) => f.name === 'createUpload')?.args.map((a) => a.name),
        ['filename', 'byteSize', 'contentType'],
      );
    });
  });
}

describe('uploads in production mode', () => {
  it('keeps error codes and messages through the production error mask', async () => {
    const db = await createTestDatabase();
    const h = await startFsHarness();
    after(() => h.close());
    const srv = await startTestServer(
      db,
      { MAX_UPLOAD_BYTES: String(MAX), NODE_ENV: 'production' },
      { storage: h.storage, models: null },
    );
    const user = await signup(srv.url);
    const r = await gql(
      srv.url,
      CREATE_UPLOAD,
      { filename: 'big.mp4', byteSize: String(MAX + 1), contentType: 'video/mp4' },
      user.token,
    );
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'PAYLOAD_TOO_LARGE');
    assert.match(r.body.errors[0].message, /larger than the 100000 bytes allowed/);
    const missing = await gql(
      srv.url,
      CREATE_VIDEO,
      { objectKey: `u/${user.id}/${crypto.randomUUID()}/x.mp4` },
      user.token,
    );
    assert.equal(missing.body.errors?.[0]?.extensions?.code, 'NOT_FOUND');
  });
});

describe('an object store outage', () => {
  it('answers 503 naming the object store, not the database, and records nothing', async () => {
    const db = await createTestDatabase();
    const h = await startS3Harness();
    const srv = await startTestServer(db, { NODE_ENV: 'production' }, { storage: h.storage, models: null });
    const user = await signup(srv.url);
    const body = bytes(3000, 4);
    const r = await gql(
      srv.url,
      CREATE_UPLOAD,
      { filename: 'a.mp4', byteSize: String(body.length), contentType: 'video/mp4' },
      user.token,
    );
    assert.ok((await uploadAsBrowser(r.body.data.createUpload, body)).ok);
    // The store goes away between the upload and createVideo's look at it.
    await h.close();
    const v = await gql(srv.url, CREATE_VIDEO, { objectKey: r.body.data.createUpload.objectKey }, user.token);
    assert.equal(v.status, 503);
    assert.equal(v.body.errors?.[0]?.extensions?.code, 'SERVICE_UNAVAILABLE');
    assert.match(v.body.errors[0].message, /object store is unavailable/);
    const { rows } = await db.rootPool.query('select count(*)::int as n from app_public.videos');
    assert.equal(rows[0].n, 0);
    // The database itself answers on: the same user's next request is served.
    const me = await gql(srv.url, '{ allVideos { totalCount } }', {}, user.token);
    assert.equal(me.status, 200);
    assert.equal(me.body.data.allVideos.totalCount, 0);
  });
});

describe('a disk that cannot hold the file', () => {
  it('createUpload refuses it before a byte is sent: INSUFFICIENT_STORAGE, with the room left', async () => {
    const db = await createTestDatabase();
    const h = await startFsHarness();
    after(() => h.close());
    const srv = await startTestServer(db, { MAX_UPLOAD_BYTES: String(2 ** 50) }, { storage: h.storage, models: null });
    h.storage.setPublicUrl(srv.url);
    const user = await signup(srv.url);
    const { bavail, bsize } = await fsp.statfs(h.storage.root);
    // More than the whole disk has free, by a margin no other test frees meanwhile.
    const tooBig = bavail * bsize + 10 * 1024 ** 3;
    const r = await gql(
      srv.url,
      CREATE_UPLOAD,
      { filename: 'huge.mp4', byteSize: String(tooBig), contentType: 'video/mp4' },
      user.token,
    );
    assert.equal(r.body.errors?.[0]?.extensions?.code, 'INSUFFICIENT_STORAGE');
    assert.match(r.body.errors[0].message, new RegExp(`room for \\d+ more bytes and this file is ${tooBig}`));
    // An ordinary file still gets its ticket.
    const ok = await gql(
      srv.url,
      CREATE_UPLOAD,
      { filename: 'small.mp4', byteSize: '1000', contentType: 'video/mp4' },
      user.token,
    );
    assert.equal(ok.body.errors, undefined, JSON.stringify(ok.body.errors));
  });
});
