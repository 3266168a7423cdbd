'use strict';
const MAX_CHARS = 1024;
const NAME = /^[\p{L}\p{Nd}_.~-]{1,256}$/u;  // the server's rule for stream names ('.' and '..' aside)
const $ = (selector) => document.querySelector(selector);
const enc = encodeURIComponent;
const utf8 = new TextEncoder();
let view = null;        // the open stream: { name, sealed, source, queue, ids, nonces, oldest, newest, older, done }
let exploreTimer = null;
let routed = 0;         // counts routings, so that a slow one does not open a stream already left

function status(text) { $('#status').textContent = text; }

function show(section) {
  for (const id of ['explore', 'problem', 'stream']) $('#' + id).hidden = id !== section;
}

function problem(title, ...text) {
  show('problem');
  document.title = 'Malten';
  $('#problem-title').textContent = title;
  $('#problem-text').replaceChildren(...text);
}

// How to serve the page over HTTPS, which WebCrypto needs.
function httpsHowto() { return $('#https-howto').content.cloneNode(true); }

async function json(url, options) {
  const response = await fetch(url, options);
  let body = null;
  try { body = await response.json(); } catch (_) { /* an empty or non-JSON body */ }
  if (!response.ok) throw new Error((body && body.error) || response.statusText || 'Request failed');
  return body;
}

function form(fields) {
  const body = new URLSearchParams();
  for (const [name, value] of Object.entries(fields)) body.append(name, value);
  return { method: 'POST', body };
}

function ago(nanos) {
  const seconds = Math.max(0, Math.round(Date.now() / 1000 - Number(BigInt(nanos) / 1000000000n)));
  if (seconds < 60) return seconds + ' s ago';
  if (seconds < 3600) return Math.round(seconds / 60) + ' min ago';
  return Math.round(seconds / 3600) + ' h ago';
}

// Text, with http(s) URLs as links; never HTML.
function linkified(text) {
  const fragment = document.createDocumentFragment();
  const pattern = /https?:\/\/[^\s<>"']+/g;
  let at = 0;
  for (const match of text.matchAll(pattern)) {
    fragment.append(document.createTextNode(text.slice(at, match.index)));
    let url = null;
    try { url = new URL(match[0]); } catch (_) { url = null; }
    if (url && (url.protocol === 'http:' || url.protocol === 'https:')) {
      const a = document.createElement('a');
      a.href = url.href;
      a.textContent = match[0];
      a.rel = 'noopener noreferrer nofollow';
      a.target = '_blank';
      fragment.append(a);
    } else {
      fragment.append(document.createTextNode(match[0]));
    }
    at = match.index + match[0].length;
  }
  fragment.append(document.createTextNode(text.slice(at)));
  return fragment;
}

// Explore: the public streams, refreshed every few seconds.
function explore() {
  show('explore');
  document.title = 'Malten';
  exploreTimer = setInterval(refreshStreams, 5000);
  refreshStreams();
}

async function refreshStreams() {
  let streams = {};
  try { streams = await json('/streams'); status(''); } catch (error) { status('Offline: ' + error.message); return; }
  const list = $('#streams');
  list.replaceChildren();
  const entries = Object.values(streams).sort((a, b) => (BigInt(b.Updated) > BigInt(a.Updated) ? 1 : -1));
  if (entries.length === 0) {
    const li = document.createElement('li');
    li.className = 'empty';
    li.textContent = 'No public streams right now. Start one below.';
    list.append(li);
  }
  for (const stream of entries) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = '#' + enc(stream.Id);
    a.textContent = stream.Id;
    const meta = document.createElement('span');
    meta.className = 'meta';
    meta.textContent = stream.Observers + ' here · ' + ago(stream.Updated);
    li.append(a, meta);
    list.append(li);
  }
}

// New stream: public (listed), private (a random name) or encrypted (private, its name derived from a
// fresh secret that only the link's fragment carries).
$('#create').addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = new FormData(event.target);
  const kind = fields.get('kind');
  const request = { private: String(kind !== 'public'), ttl: fields.get('ttl') };
  const name = (fields.get('stream') || '').trim();  // a disabled field is not in the form
  $('#create-error').textContent = '';
  try {
    let secret = null;
    if (kind === 'encrypted') {
      secret = MaltenE2E.newSecret();
      request.stream = (await MaltenE2E.sealedStream(MaltenE2E.base64urlDecode(secret))).name;
    } else if (name && kind === 'public') {
      request.stream = name;  // a private stream's name is random
    }
    const created = await json('/streams', form(request));
    if (kind === 'public') {
      location.hash = enc(created.stream);
      return;
    }
    const fragment = secret ? '#k=' + secret : '#' + enc(created.stream);
    $('#share-note').textContent = secret
      ? 'Your encrypted stream. The server sees only ciphertext; anyone with this link can read and write it:'
      : 'Your private stream. Anyone with this link can read and write it:';
    $('#share-link').value = location.origin + '/' + fragment;
    $('#share-open').href = fragment;
    $('#share').hidden = false;
    $('#share-link').select();
  } catch (error) {
    $('#create-error').textContent = error.message;
  }
});

function kindChanged() {
  $('#create input[name=stream]').disabled = !$('#create input[value=public]').checked;
}

for (const radio of document.querySelectorAll('#create input[name=kind]')) radio.addEventListener('change', kindChanged);
kindChanged();  // the browser may have restored the form
if (!window.isSecureContext) {  // no WebCrypto, and nothing weaker instead
  $('#create input[value=encrypted]').disabled = true;
  $('#kind-note').replaceChildren('Encryption needs HTTPS. ', httpsHowto());
  $('#kind-note').hidden = false;
}

$('#copy').addEventListener('click', async () => {
  try {
    await navigator.clipboard.writeText($('#share-link').value);
    status('Link copied');
  } catch (_) {
    $('#share-link').select();
    status('Select and copy the link');
  }
});

// A stream: the newest messages, then live events; older ones on scrolling up. A sealed stream
// (`sealed` from MaltenE2E.sealedStream) shows its messages opened and seals what is posted.
async function openStream(name, sealed) {
  show('stream');
  document.title = sealed ? 'Encrypted stream · Malten' : name + ' · Malten';
  $('#stream').classList.toggle('sealed', Boolean(sealed));
  $('#lock').hidden = !sealed;
  $('#stream-name').textContent = name;
  $('#observers').textContent = '';
  $('#messages').replaceChildren();
  $('#text').value = '';  // a draft never follows into another stream, least of all out of an encrypted one
  const state = {
    name, sealed, source: null, queue: Promise.resolve(), ids: new Set(), nonces: new Set(),
    oldest: null, newest: null, older: false, done: false,
  };
  view = state;
  updateCount();
  try {
    for (const message of await reveal(state, await json('/messages?stream=' + enc(name) + '&limit=25'))) add(state, message, false);
  } catch (error) {
    $('#post-error').textContent = error.message;
  }
  if (view !== state) return;
  scrollToEnd();
  let url = '/events?stream=' + enc(name);
  if (state.newest !== null) url += '&since=' + state.newest;
  const source = new EventSource(url);
  state.source = source;
  source.onopen = () => status('Live');
  source.onerror = () => status('Reconnecting…');
  source.onmessage = (event) => inOrder(state, async () => {
    const data = JSON.parse(event.data);
    if (data.Type === 'message') {
      const [message] = await reveal(state, [data]);
      const atEnd = nearEnd();
      add(state, message, false);
      if (atEnd) scrollToEnd();
    } else if (data.Type === 'event') {
      refreshObservers(state);  // our own connect event too: the stream exists by then
    }
  });
  source.addEventListener('gap', () => inOrder(state, () => marker(state, 'Earlier messages expired')));
  source.addEventListener('lagged', () => status('Fell behind; catching up…'));
  source.addEventListener('evicted', () => { status('This stream was removed'); source.close(); });
}

function closeStream() {
  if (view && view.source) view.source.close();
  view = null;
}

// A view's events are handled one after another, also while a sealed one is being opened; one that
// fails (malformed) is skipped and never stops the stream.
function inOrder(state, task) {
  state.queue = state.queue.then(task).catch(() => {});
}

// A sealed stream's messages with `opened` ({ text, time, nonce }, or null when one does not open);
// a plain stream's as they are.
async function reveal(state, messages) {
  if (!state.sealed) return messages;
  return Promise.all(messages.map(async (message) => ({ ...message, opened: await state.sealed.open(message.Text) })));
}

async function refreshObservers(state) {
  try {
    const entry = (await json('/streams?stream=' + enc(state.name)))[state.name];
    if (view === state && entry) $('#observers').textContent = entry.Observers + ' here';
  } catch (_) { /* the stream may have gone; the next event says more */ }
}

function messageItem(state, message) {
  const li = document.createElement('li');
  li.dataset.id = message.Id;
  li.dataset.created = message.Created;
  const opened = state.sealed ? message.opened : null;  // never a field the server sent
  // A sealed message shows the send time it carries: the server's Created is only the server's word.
  const date = opened ? new Date(opened.time * 1000) : new Date(Number(BigInt(message.Created) / 1000000n));
  const time = document.createElement('time');
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleTimeString();
  if (!state.sealed) {
    li.append(time, linkified(message.Text));
  } else if (opened) {
    li.className = 'sealed';
    li.append(time, linkified(opened.text));
  } else {
    li.className = 'unreadable';  // never the raw text
    li.append(time, 'unreadable');
  }
  return li;
}

// Adds a message unless the list already shows it (a reconnect's replay may repeat some), or, in a
// sealed stream, unless its nonce was seen already (a replayed ciphertext).
function add(state, message, atStart) {
  if (view !== state || state.ids.has(message.Id)) return;
  state.ids.add(message.Id);
  const created = BigInt(message.Created);
  if (state.oldest === null || created < state.oldest) state.oldest = created;
  if (state.newest === null || created > state.newest) state.newest = created;
  if (state.sealed && message.opened) {
    if (state.nonces.has(message.opened.nonce)) return;
    state.nonces.add(message.opened.nonce);
  }
  const list = $('#messages');
  if (atStart) list.prepend(messageItem(state, message)); else list.append(messageItem(state, message));
}

function marker(state, text) {
  if (view !== state) return;
  const li = document.createElement('li');
  li.className = 'marker';
  li.textContent = text;
  $('#messages').append(li);
}

function nearEnd() {
  const list = $('#messages');
  return list.scrollHeight - list.scrollTop - list.clientHeight < 40;
}

function scrollToEnd() {
  const list = $('#messages');
  list.scrollTop = list.scrollHeight;
}

$('#messages').addEventListener('scroll', async () => {
  const state = view;
  const list = $('#messages');
  if (!state || state.older || state.done || state.oldest === null || list.scrollTop > 30) return;
  state.older = true;
  try {
    const older = await reveal(state, await json('/messages?stream=' + enc(state.name) + '&limit=25&direction=-1&last=' + state.oldest));
    const height = list.scrollHeight;
    for (const message of older) add(state, message, true);
    list.scrollTop += list.scrollHeight - height;
    if (older.length === 0) state.done = true;
  } catch (_) { /* try again on the next scroll */ }
  state.older = false;
});

// A text against its stream's limit: UTF-8 bytes when sealed, characters otherwise.
function measure(state, text) {
  if (state && state.sealed) return { count: utf8.encode(text).length, max: MaltenE2E.MAX_TEXT_BYTES, unit: ' bytes' };
  return { count: [...text].length, max: MAX_CHARS, unit: '' };
}

function updateCount() {
  const { count, max, unit } = measure(view, $('#text').value);
  const over = count > max;
  $('#count').textContent = count + ' / ' + max + unit;
  $('#count').classList.toggle('over', over);
  $('#text').classList.toggle('over', over);
  $('#post button').disabled = over;
  $('#post-error').textContent = over ? 'Too long: at most ' + max + (unit ? unit + ' when encrypted' : ' characters') : '';
}

$('#text').addEventListener('input', updateCount);
$('#text').addEventListener('keydown', (event) => {
  if (event.key === 'Enter' && !event.shiftKey && !event.isComposing) {
    event.preventDefault();
    $('#post').requestSubmit();
  }
});

$('#post').addEventListener('submit', async (event) => {
  event.preventDefault();
  const state = view;
  const text = $('#text').value;
  if (!state || text.trim() === '') return;
  const { count, max } = measure(state, text);
  if (count > max) return;
  try {
    await json('/messages', form({ stream: state.name, text: state.sealed ? await state.sealed.seal(text) : text }));
    if (view !== state) return;
    $('#text').value = '';
    updateCount();
  } catch (error) {
    $('#post-error').textContent = error.message;
  }
});

// The fragment says what to show: `#k=<secret>` a sealed stream (the secret never leaves the
// fragment: requests carry only the name derived from it), `#<name>` a stream, nothing the streams.
async function route() {
  const turn = ++routed;
  closeStream();
  clearInterval(exploreTimer);
  $('#share').hidden = true;
  $('#share-link').value = '';
  let link = null;
  try {
    link = MaltenE2E.parseLink(location.hash);
  } catch (error) {
    problem('This link does not work', error.message);
    return;
  }
  if (link) {
    if (!window.isSecureContext) {
      problem('Encryption needs HTTPS', 'This page came over plain HTTP, where the browser offers no encryption, '
        + 'and Malten offers nothing weaker. ', httpsHowto());
      return;
    }
    let sealed = null;
    try {
      sealed = await MaltenE2E.sealedStream(link.secret);
    } catch (error) {
      if (turn === routed) problem('This link does not work', error.message);
      return;
    }
    if (turn === routed) openStream(sealed.name, sealed);
    return;
  }
  let name = null;
  try { name = decodeURIComponent(location.hash.slice(1)); } catch (_) { name = null; }
  if (name === '') explore();
  else if (name !== null && NAME.test(name) && name !== '.' && name !== '..') openStream(name, null);
  else problem('Not a stream name', 'A stream name has 1 to 256 letters, digits and - _ . ~');
}

window.addEventListener('hashchange', route);
route();
