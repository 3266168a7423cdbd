'use strict';
// Malten's end-to-end format, version 1 (shared/E2E.md), on WebCrypto only: the server holds ciphertext.
// Sealed streams (#k= links), and pipes (#p=): two parties whose key comes from an ephemeral ECDH.
(() => {
  const MAX_TEXT_BYTES = 733;  // 1024 characters of message text, less "m1.", nonce, tag and time
  const NONCE_BYTES = 12;
  const TAG_BYTES = 16;
  const TIME_BYTES = 4;
  const SECRET_BYTES = 32;
  const PREFIX = 'm1.';
  const HELLO = 'h1.';
  const POINT_BYTES = 65;  // uncompressed P-256 point: 04 ‖ x ‖ y
  const MAC_BYTES = 32;
  const ECDH = { name: 'ECDH', namedCurve: 'P-256' };
  const AES = { name: 'AES-GCM', length: 256 };
  const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const utf8 = new TextEncoder();
  const fromUTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });  // keeps a leading U+FEFF

  // WebCrypto exists only in secure contexts (HTTPS, localhost).
  function subtle() {
    if (!globalThis.crypto || !globalThis.crypto.subtle) throw new Error('Encryption needs HTTPS (or localhost)');
    return globalThis.crypto.subtle;
  }

  // base64url without padding (RFC 4648 §5).
  function base64urlEncode(bytes) {
    let text = '';
    for (let i = 0; i < bytes.length; i += 3) {
      const n = (bytes[i] << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
      const chars = Math.min(4, Math.ceil((bytes.length - i) * 4 / 3));
      for (let c = 0; c < chars; c++) text += ALPHABET[(n >> (18 - 6 * c)) & 63];
    }
    return text;
  }

  // Strict: only the alphabet, no padding, no impossible length, no stray bits in the last character.
  function base64urlDecode(text) {
    if (typeof text !== 'string' || !/^[A-Za-z0-9_-]*$/.test(text) || text.length % 4 === 1) {
      throw new Error('Not base64url');
    }
    const bytes = new Uint8Array(Math.floor(text.length * 3 / 4));
    let bits = 0;
    let count = 0;
    let at = 0;
    for (const char of text) {
      bits = ((bits << 6) | ALPHABET.indexOf(char)) & 0xffffff;
      count += 6;
      if (count >= 8) {
        count -= 8;
        bytes[at++] = (bits >> count) & 0xff;
      }
    }
    if ((bits & ((1 << count) - 1)) !== 0) throw new Error('Not base64url');
    return bytes;
  }

  function newSecret() {
    return base64urlEncode(globalThis.crypto.getRandomValues(new Uint8Array(SECRET_BYTES)));
  }

  // `#k=<secret>` → { kind: 'sealed', secret }, `#p=<secret>` → { kind: 'pipe', secret }; null for a hash
  // that is no such link. Errors never quote the secret.
  function parseLink(hash) {
    const fragment = String(hash).replace(/^#/, '');
    const kind = { 'k=': 'sealed', 'p=': 'pipe' }[fragment.slice(0, 2)];
    if (!kind) return null;
    const text = fragment.slice(2);
    const length = Math.ceil(SECRET_BYTES * 4 / 3);
    if (text.length !== length) throw new Error(`The link's key must be ${length} characters; this one has ${text.length}`);
    let secret;
    try { secret = base64urlDecode(text); } catch (_) { throw new Error("The link's key is not valid base64url"); }
    return { kind, secret };
  }

  function concat(...parts) {
    const bytes = new Uint8Array(parts.reduce((sum, part) => sum + part.length, 0));
    let at = 0;
    for (const part of parts) { bytes.set(part, at); at += part.length; }
    return bytes;
  }

  // HKDF parameters: `info` is the ASCII label followed by the bytes of `context`.
  function hkdf(info, salt = new Uint8Array(0), context = new Uint8Array(0)) {
    return { name: 'HKDF', hash: 'SHA-256', salt, info: concat(utf8.encode(info), context) };
  }

  // Sealing and opening of message text under `key` (AES-256-GCM), bound to the stream `name`.
  function messages(name, key) {
    const aad = utf8.encode('malten/1 ' + name);

    async function seal(text, { nonce, time } = {}) {
      const bytes = utf8.encode(String(text));
      if (bytes.length > MAX_TEXT_BYTES) {
        throw new Error(`Too long: at most ${MAX_TEXT_BYTES} bytes of text when encrypted (this is ${bytes.length})`);
      }
      nonce = nonce ?? globalThis.crypto.getRandomValues(new Uint8Array(NONCE_BYTES));
      time = time ?? Math.floor(Date.now() / 1000);
      if (!(nonce instanceof Uint8Array) || nonce.length !== NONCE_BYTES) throw new Error('The nonce must be 12 bytes');
      if (!Number.isInteger(time) || time < 0 || time > 0xffffffff) throw new Error('The time must be Unix seconds');
      const plaintext = new Uint8Array(TIME_BYTES + bytes.length);
      new DataView(plaintext.buffer).setUint32(0, time);
      plaintext.set(bytes, TIME_BYTES);
      const sealed = new Uint8Array(await subtle().encrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad }, key, plaintext));
      const combined = new Uint8Array(NONCE_BYTES + sealed.length);
      combined.set(nonce);
      combined.set(sealed, NONCE_BYTES);
      return PREFIX + base64urlEncode(combined);
    }

    // { text, time, nonce } or null: never throws for text that does not open.
    async function open(messageText) {
      if (typeof messageText !== 'string' || !messageText.startsWith(PREFIX)) return null;
      let combined;
      try { combined = base64urlDecode(messageText.slice(PREFIX.length)); } catch (_) { return null; }
      if (combined.length < NONCE_BYTES + TAG_BYTES + TIME_BYTES) return null;
      const nonce = combined.subarray(0, NONCE_BYTES);
      try {
        const plaintext = new Uint8Array(await subtle().decrypt(
          { name: 'AES-GCM', iv: nonce, additionalData: aad }, key, combined.subarray(NONCE_BYTES)));
        const time = new DataView(plaintext.buffer).getUint32(0);
        return { text: fromUTF8.decode(plaintext.subarray(TIME_BYTES)), time, nonce: base64urlEncode(nonce) };
      } catch (_) {
        return null;  // a tag that does not verify, or text that is not UTF-8
      }
    }

    return { name, seal, open };
  }

  // A sealed stream from its 32-byte secret S: { name, seal, open }. No key can be exported.
  async function sealedStream(secret) {
    if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) throw new Error('The secret must be 32 bytes');
    const base = await subtle().importKey('raw', secret, 'HKDF', false, ['deriveBits', 'deriveKey']);
    const name = base64urlEncode(new Uint8Array(await subtle().deriveBits(hkdf('malten/1 stream'), base, 128)));
    const key = await subtle().deriveKey(hkdf('malten/1 key'), base, AES, false, ['encrypt', 'decrypt']);
    return Object.freeze(messages(name, key));
  }

  // One party of a pipe from its 32-byte secret P: a fresh P-256 key pair (non-extractable), its hello,
  // peer(hello) → the other party's point or null, and session(point) → { safetyCode, seal, open }.
  // `fixedKey` ({ d, point }) is for the test vectors only.
  async function pipe(secret, { fixedKey } = {}) {
    if (!(secret instanceof Uint8Array) || secret.length !== SECRET_BYTES) throw new Error('The secret must be 32 bytes');
    const salt = Uint8Array.from(secret);
    const base = await subtle().importKey('raw', salt, 'HKDF', false, ['deriveBits', 'deriveKey']);
    const name = base64urlEncode(new Uint8Array(await subtle().deriveBits(hkdf('malten/1 pipe'), base, 128)));
    const auth = await subtle().deriveKey(
      hkdf('malten/1 pipe auth'), base, { name: 'HMAC', hash: 'SHA-256', length: 256 }, false, ['sign', 'verify']);
    let privateKey;
    let point;
    if (fixedKey) {
      point = Uint8Array.from(fixedKey.point);
      if (point.length !== POINT_BYTES || point[0] !== 4) throw new Error('The point must be 65 bytes, uncompressed');
      const jwk = { kty: 'EC', crv: 'P-256', d: base64urlEncode(fixedKey.d), x: base64urlEncode(point.subarray(1, 33)),
        y: base64urlEncode(point.subarray(33)), ext: false };
      privateKey = await subtle().importKey('jwk', jwk, ECDH, false, ['deriveBits']);
    } else {
      const pair = await subtle().generateKey(ECDH, false, ['deriveBits']);
      privateKey = pair.privateKey;
      point = new Uint8Array(await subtle().exportKey('raw', pair.publicKey));
    }
    const helloLabel = utf8.encode('malten/1 hello');
    const mac = new Uint8Array(await subtle().sign('HMAC', auth, concat(helloLabel, point)));
    const hello = HELLO + base64urlEncode(concat(point, mac));

    // Never throws: null for a text that is no hello, a MAC that does not verify, our own point, or one off the curve.
    async function peer(helloText) {
      if (typeof helloText !== 'string' || !helloText.startsWith(HELLO)) return null;
      let bytes;
      try { bytes = base64urlDecode(helloText.slice(HELLO.length)); } catch (_) { return null; }
      if (bytes.length !== POINT_BYTES + MAC_BYTES) return null;
      const other = bytes.slice(0, POINT_BYTES);
      if (other.every((byte, i) => byte === point[i])) return null;
      try {
        if (!await subtle().verify('HMAC', auth, bytes.subarray(POINT_BYTES), concat(helloLabel, other))) return null;
        await subtle().importKey('raw', other, ECDH, false, []);  // refuses a point that is not on the curve
      } catch (_) {
        return null;
      }
      return other;
    }

    async function session(peerPoint) {
      const shared = await subtle().deriveBits(
        { name: 'ECDH', public: await subtle().importKey('raw', peerPoint, ECDH, false, []) }, privateKey, 256);
      const first = peerPoint.findIndex((byte, i) => byte !== point[i]);
      const points = peerPoint[first] < point[first] ? concat(peerPoint, point) : concat(point, peerPoint);  // Qlo ‖ Qhi
      const z = await subtle().importKey('raw', shared, 'HKDF', false, ['deriveKey']);
      const key = await subtle().deriveKey(hkdf('malten/1 pipe key', salt, points), z, AES, false, ['encrypt', 'decrypt']);
      const digest = await subtle().digest('SHA-256', concat(utf8.encode('malten/1 safety'), points));
      const code = String(new DataView(digest).getUint32(0) % 1e8).padStart(8, '0');
      const { seal, open } = messages(name, key);
      return Object.freeze({ safetyCode: code.slice(0, 4) + ' ' + code.slice(4), seal, open });
    }

    return Object.freeze({ name, hello, point: point.slice(), peer, session });
  }

  globalThis.MaltenE2E = Object.freeze({
    MAX_TEXT_BYTES, base64urlEncode, base64urlDecode, newSecret, parseLink, sealedStream, pipe,
  });
})();
