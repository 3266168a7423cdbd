'use strict';
// Malten's end-to-end format, version 1 (shared/E2E.md), on WebCrypto only: the server holds ciphertext.
// Sealed streams (#k= links) are here; pipes (#p=) will reuse `messages` with their own key.
(() => {
  const MAX_TEXT_BYTES = 733;  // 1024 characters of message text, less "m1.", nonce, tag and time
  const NONCE_BYTES = 12;
  const TAG_BYTES = 16;
  const TIME_BYTES = 4;
  const SECRET_BYTES = 32;
  const PREFIX = 'm1.';
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

  // `#k=<secret>` → { kind: 'sealed', secret }; null for a hash that is no such link. Errors never quote the secret.
  function parseLink(hash) {
    const fragment = String(hash).replace(/^#/, '');
    if (!fragment.startsWith('k=')) return null;
    const text = fragment.slice(2);
    const length = Math.ceil(SECRET_BYTES * 4 / 3);
    if (text.length !== length) throw new Error(`The link's key must be ${length} characters; this one has ${text.length}`);
    let secret;
    try { secret = base64urlDecode(text); } catch (_) { throw new Error("The link's key is not valid base64url"); }
    return { kind: 'sealed', secret };
  }

  function hkdf(info, salt = new Uint8Array(0)) {
    return { name: 'HKDF', hash: 'SHA-256', salt, info: utf8.encode(info) };
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
    const key = await subtle().deriveKey(hkdf('malten/1 key'), base, { name: 'AES-GCM', length: 256 }, false, ['encrypt', 'decrypt']);
    return Object.freeze(messages(name, key));
  }

  globalThis.MaltenE2E = Object.freeze({
    MAX_TEXT_BYTES, base64urlEncode, base64urlDecode, newSecret, parseLink, sealedStream,
  });
})();
