// The journey of docs/clients/go, with openapi-fetch and the types openapi-typescript
// generates from docs/openapi.json (gen/api.ts, unedited), against the server at
// USERS_BASE_URL. tsc checks the calls against the document; this runs them.
import { test } from "node:test";
import assert from "node:assert/strict";
import { randomInt, randomUUID } from "node:crypto";
import { crc32, deflateSync } from "node:zlib";
import createClient from "openapi-fetch";
import type { components, paths } from "./gen/api.js";

type PrivateUserInfo = components["schemas"]["PrivateUserInfo"];
type UserInfo = components["schemas"]["UserInfo"];

const base = process.env.USERS_BASE_URL;

test("a client's journey", async () => {
  assert.ok(base, "USERS_BASE_URL is not set: run docs/clients/run.sh, which starts a server");
  const client = createClient<paths>({ baseUrl: base });
  const username = `ts${String(randomInt(1e8)).padStart(8, "0")}`;
  const password = "correct horse battery";
  const basic = { Authorization: "Basic " + Buffer.from(`${username}:${password}`).toString("base64") };

  // Register.
  const reg = await client.POST("/users", {
    body: { name: "Scripter", username, password, deviceInfo: { id: randomUUID(), name: "phone" } },
  });
  assert.equal(reg.response.status, 200);
  const registered: PrivateUserInfo | undefined = reg.data;
  assert.ok(registered);
  assert.equal(registered.username, username);
  assert.equal(registered.deviceSessions.length, 1);
  assert.ok(registered.deviceSessions[0]?.accessToken);
  const id = registered.id;

  // Log in with Basic on a second device.
  const login = await client.POST("/users/login", {
    body: { deviceInfo: { id: randomUUID(), name: "laptop" } },
    headers: basic,
  });
  assert.equal(login.response.status, 200);
  assert.equal(login.data?.deviceSessions.length, 2);
  const token = login.data?.deviceSessions[0]?.accessToken;
  assert.ok(token);
  const auth = { Authorization: `Bearer ${token}` };

  // Me.
  const me = await client.GET("/users/me", { headers: auth });
  assert.equal(me.response.status, 200);
  assert.equal(me.data?.id, id);

  // Update the user, then the device: empty OKs with Content-Length 0.
  const upd = await client.PUT("/users/me", { body: { name: "Scripter Two", about: "Types." }, headers: auth });
  assert.equal(upd.response.status, 200);
  assert.equal(upd.response.headers.get("Content-Length"), "0");
  const dev = await client.PUT("/users/me/device", { body: { deviceName: "work laptop" }, headers: auth });
  assert.equal(dev.response.status, 200);

  // Upload a PNG and add it as a photo. The document types a binary body as a string
  // (its schema is a string of contentMediaType application/octet-stream), so the bytes
  // go through as they are.
  const pic = pngBytes();
  const up = await client.POST("/uploads", {
    body: pic as unknown as string,
    bodySerializer: (b) => b,
    headers: { ...auth, "Content-Type": "image/png" },
    parseAs: "text",
  });
  assert.equal(up.response.status, 200);
  const name = up.data;
  assert.match(String(name), /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
  const add = await client.POST("/users/me/photos", {
    body: { photo: { id: String(name), fileType: "png", fileSize: pic.length } },
    headers: auth,
  });
  assert.equal(add.response.status, 200);

  // Download it, ask for its headers, then for a range it does not have.
  const file = await client.GET("/uploads/{file}", { params: { path: { file: `${name}.png` } }, parseAs: "arrayBuffer" });
  assert.equal(file.response.status, 200);
  assert.deepEqual(new Uint8Array(file.data as ArrayBuffer), new Uint8Array(pic));
  assert.equal(file.response.headers.get("X-Content-Type-Options"), "nosniff");
  const head = await client.HEAD("/uploads/{file}", { params: { path: { file: `${name}.png` } } });
  assert.equal(head.response.status, 200);
  assert.equal(head.response.headers.get("Content-Length"), String(pic.length));
  const noFile = await client.HEAD("/uploads/{file}", { params: { path: { file: `${randomUUID()}.png` } } });
  assert.equal(noFile.response.status, 404);
  const far = await client.GET("/uploads/{file}", {
    params: { path: { file: `${name}.png` } },
    headers: { Range: "bytes=100000-" },
  });
  assert.equal(far.response.status, 416);
  assert.equal(far.error?.error, true);

  // Search, and get the user: public answers, with the photo.
  const found = await client.GET("/users", { params: { query: { s: username.slice(0, 6) } } });
  assert.equal(found.response.status, 200);
  const hit: UserInfo | undefined = found.data?.find((u) => u.id === id);
  assert.ok(hit, `search: user ${id} not found`);
  assert.equal(hit.name, "Scripter Two");
  assert.equal(hit.photos.length, 1);
  const user = await client.GET("/users/{id}", { params: { path: { id: String(id) } } });
  assert.equal(user.response.status, 200);
  assert.equal(user.data?.about, "Types.");
  assert.equal(user.data?.photos[0]?.id, name);
  assert.ok(user.data && !("deviceSessions" in user.data), "a public answer with deviceSessions");

  // A 401 and a 409, with their error objects.
  const bad = await client.GET("/users/me", { headers: { Authorization: "Bearer " + "A".repeat(43) } });
  assert.equal(bad.response.status, 401);
  assert.equal(bad.error?.error, true);
  assert.equal(bad.response.headers.get("WWW-Authenticate"), 'Bearer realm="users"');
  const taken = await client.POST("/users", {
    body: { name: "Other", username, password, deviceInfo: { id: randomUUID() } },
  });
  assert.equal(taken.response.status, 409);
  assert.equal(taken.error?.error, true);
  assert.ok(taken.error?.reason);

  // Log out; the token is gone.
  const out = await client.POST("/users/me/logout", { headers: auth });
  assert.equal(out.response.status, 200);
  const after = await client.GET("/users/me", { headers: auth });
  assert.equal(after.response.status, 401);

  // Deregister with Basic; the user is gone.
  const del = await client.DELETE("/users/me", { headers: basic });
  assert.equal(del.response.status, 200);
  const gone = await client.GET("/users/{id}", { params: { path: { id: String(id) } } });
  assert.equal(gone.response.status, 404);
});

// pngBytes is a small PNG (8 by 8, RGB, a gradient), built by hand: signature, IHDR,
// IDAT, IEND, each chunk with its CRC.
function pngBytes(): Buffer {
  const chunk = (type: string, data: Buffer) => {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const body = Buffer.concat([Buffer.from(type, "ascii"), data]);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(8, 0);
  ihdr.writeUInt32BE(8, 4);
  ihdr.writeUInt8(8, 8); // bit depth
  ihdr.writeUInt8(2, 9); // RGB
  const rows: number[] = [];
  for (let y = 0; y < 8; y++) {
    rows.push(0); // no filter
    for (let x = 0; x < 8; x++) rows.push(x * 32, y * 32, 128);
  }
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", deflateSync(Buffer.from(rows))),
    chunk("IEND", Buffer.alloc(0)),
  ]);
}
