'use strict';
const MAX_CHARS = 1024;
const NAME = /^[\p{L}\p{Nd}_.~-]{1,256}$/u;  // the server's rule for stream names ('.' and '..' aside)
const $ = (selector) => document.querySelector(selector);
const enc = encodeURIComponent;
const utf8 = new TextEncoder();
let view = null;        // the open stream: { name, sealed, pipe, source, queue, ids, nonces, oldest, newest, older, done }
let invite = null;      // the pipe this page just made, { fragment, party }: its link stays up until the other side joins
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

const SHARE_NOTES = {
  private: 'Your private stream. Anyone with this link can read and write it:',
  encrypted: 'Your encrypted stream. The server sees only ciphertext; anyone with this link can read and write it:',
  pipe: 'Your pipe. Send this link to the other person: it opens only while this page is open, '
    + 'and the one risk is someone intercepting it before they join.',
};

// New stream: public (listed), private (a random name), encrypted (private, its name derived from a
// fresh secret that only the link's fragment carries) or a pipe (the same, for two; this page joins it at once).
$('#create').addEventListener('submit', async (event) => {
  event.preventDefault();
  const fields = new FormData(event.target);
  const kind = fields.get('kind');
  const request = { private: String(kind !== 'public'), ttl: fields.get('ttl') };
  const name = (fields.get('stream') || '').trim();  // a disabled field is not in the form
  $('#create-error').textContent = '';
  try {
    let secret = null;
    let party = null;
    if (kind === 'encrypted') {
      secret = MaltenE2E.newSecret();
      request.stream = (await MaltenE2E.sealedStream(MaltenE2E.base64urlDecode(secret))).name;
    } else if (kind === 'pipe') {
      secret = MaltenE2E.newSecret();
      party = await MaltenE2E.pipe(MaltenE2E.base64urlDecode(secret));
      request.stream = party.name;
      request.pipe = 'true';
    } else if (name && kind === 'public') {
      request.stream = name;  // a private stream's name is random
    }
    const created = await json('/streams', form(request));
    if (kind === 'public') {
      location.hash = enc(created.stream);
      return;
    }
    const fragment = party ? '#p=' + secret : secret ? '#k=' + secret : '#' + enc(created.stream);
    $('#share-note').textContent = SHARE_NOTES[kind];
    $('#share-link').value = location.origin + '/' + fragment;
    $('#share-open').href = fragment;
    $('#share-open').hidden = Boolean(party);
    $('#share').hidden = false;
    $('#share-link').select();
    if (party) {
      invite = { fragment, party };
      location.hash = fragment;
    }
  } catch (error) {
    $('#create-error').textContent = error.message;
  }
});

function kindChanged() {
  $('#create input[name=stream]').disabled = !$('#create input[value=public]').checked;
  if (window.isSecureContext) $('#kind-note').hidden = !$('#create input[value=pipe]').checked;  // what a pipe is
}

for (const radio of document.querySelectorAll('#create input[name=kind]')) radio.addEventListener('change', kindChanged);
kindChanged();  // the browser may have restored the form
if (!window.isSecureContext) {  // no WebCrypto, and nothing weaker instead
  for (const kind of ['encrypted', 'pipe']) $('#create input[value=' + kind + ']').disabled = true;
  $('#kind-note').replaceChildren('Encryption needs HTTPS. ', httpsHowto());
  $('#kind-note').hidden = false;
}

function unshare() {
  $('#share').hidden = true;
  $('#share-link').value = '';
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

// Encrypted: a sealed stream, or a pipe (whose session, in `sealed`, comes once it pairs).
function encrypted(state) { return Boolean(state && (state.sealed || state.pipe)); }

// The stream view, emptied, for a new `state` of stream `name`.
function present(name, sealed, pipe, title) {
  const state = {
    name, sealed, pipe, source: null, queue: Promise.resolve(), ids: new Set(), nonces: new Set(),
    oldest: null, newest: null, older: false, done: Boolean(pipe),  // a pipe is read whole from its start
  };
  show('stream');
  document.title = title;
  $('#stream').classList.toggle('sealed', encrypted(state));
  $('#lock').hidden = !sealed;
  $('#pipe').hidden = !pipe;
  $('#stream-name').textContent = name;
  $('#observers').textContent = '';
  $('#messages').replaceChildren();
  $('#text').value = '';  // a draft never follows into another stream, least of all out of an encrypted one
  view = state;
  updateCount();
  return state;
}

// The stream's live events from `url`: messages opened (when encrypted) and added in order.
function subscribe(state, url) {
  const source = new EventSource(url);
  state.source = source;
  source.onmessage = (event) => inOrder(state, async () => {
    const data = JSON.parse(event.data);
    if (data.Type === 'message') {
      if (state.pipe && data.Text.startsWith('h1.')) return greeted(state, data.Text);  // never shown
      const [message] = await reveal(state, [data]);
      const atEnd = nearEnd();
      add(state, message, false);
      if (atEnd) scrollToEnd();
    } else if (data.Type === 'event') {
      refreshObservers(state);  // our own connect event too: the stream exists by then
      // A pipe's hello again on every connect until paired (ours included: we are subscribed), so a late
      // party finds a fresh one whatever the TTL took; a refused subscription never sees one.
      if (state.pipe && data.Text === 'connect') return sayHello(state);
    }
  });
  return source;
}

// A stream: the newest messages, then live events; older ones on scrolling up. A sealed stream
// (`sealed` from MaltenE2E.sealedStream) shows its messages opened and seals what is posted.
async function openStream(name, sealed) {
  const state = present(name, sealed, null, sealed ? 'Encrypted stream · Malten' : name + ' · Malten');
  try {
    for (const message of await reveal(state, await json('/messages?stream=' + enc(name) + '&limit=25'))) add(state, message, false);
  } catch (error) {
    $('#post-error').textContent = error.message;
  }
  if (view !== state) return;
  scrollToEnd();
  let url = '/events?stream=' + enc(name);
  if (state.newest !== null) url += '&since=' + state.newest;
  const source = subscribe(state, url);
  source.onopen = () => status('Live');
  source.onerror = () => status('Reconnecting…');
  source.addEventListener('gap', () => inOrder(state, () => marker(state, 'Earlier messages expired')));
  source.addEventListener('lagged', () => status('Fell behind; catching up…'));
  source.addEventListener('evicted', () => { status('This stream was removed'); source.close(); });
}

// A pipe (E2E.md, "Pipes"), for `party` from MaltenE2E.pipe: read from its start, our hello posted on each
// connect while unpaired; the first valid hello of the other side gives the session, and only then can one write.
// Once paired, any end of the connection is the pipe's end: no reconnecting.
async function openPipe(party) {
  const state = present(party.name, null, { party, hello: false }, 'Malten pipe');
  $('#safety').hidden = true;
  $('#safety-note').hidden = true;
  $('#pipe-status').textContent = 'Waiting for the other side…';
  const refusal = await pipeRefusal(party.name);  // before subscribing, which would make a plain stream of a gone pipe
  if (view !== state) return;
  if (refusal) return end(state, refusal);
  const source = subscribe(state, '/events?stream=' + enc(party.name) + '&since=0');
  source.onopen = () => status('Live');
  source.onerror = () => {
    if (state.sealed) {
      source.close();
      inOrder(state, () => end(state, 'The connection broke: the pipe is closed and wiped'));
    } else if (source.readyState === EventSource.CLOSED) {  // refused
      inOrder(state, async () => end(state, (await pipeRefusal(state.name)) || 'Could not join this pipe'));
    } else {
      status('Reconnecting…');
    }
  };
  source.addEventListener('closed', () => {
    source.close();
    inOrder(state, () => end(state, 'The other side left: the pipe is closed and wiped'));
  });
}

// Why a pipe cannot be joined now, or null: it ended or expired, or it has its two people.
async function pipeRefusal(name) {
  try {
    const response = await fetch('/streams?stream=' + enc(name));
    if (response.status === 404 || response.status === 410) return 'This pipe is closed';
    const entry = response.ok ? (await response.json())[name] : null;
    if (entry && !entry.Pipe) return 'This pipe is closed';  // its name went to a plain stream
    if (entry && entry.Observers >= 2) return 'This pipe already has two people';
  } catch (_) { /* offline: subscribing will tell */ }
  return null;
}

async function sayHello(state) {
  const party = state.pipe.party;
  if (!party || (state.sealed && state.pipe.hello)) return;  // our own connect (the first) says it even if the replay paired us
  state.pipe.hello = true;
  try {
    await json('/messages', form({ stream: state.name, text: party.hello }));
  } catch (error) {
    if (view === state) $('#post-error').textContent = error.message;
  }
}

// A hello: the first valid one of the other side pairs the pipe; any other is ignored.
async function greeted(state, hello) {
  const party = state.pipe.party;
  if (state.sealed || !party) return;
  const point = await party.peer(hello);
  if (!point) return;
  const session = await party.session(point);
  if (view !== state || !state.pipe.party) return;
  state.sealed = session;
  $('#safety').textContent = session.safetyCode;
  $('#safety').hidden = false;
  $('#safety-note').hidden = false;
  $('#pipe-status').textContent = 'Connected: end-to-end encrypted';
  unshare();  // the link opens nothing any more
  updateCount();
}

// A pipe's end: its keys and session are dropped, what is on screen stays, and the first reason stays shown.
function end(state, reason) {
  if (state.source) state.source.close();
  if (!state.pipe.party) return;
  state.pipe.party = null;
  state.sealed = null;
  if (view !== state) return;
  $('#pipe-status').textContent = reason;
  $('#observers').textContent = '';
  status('');
  unshare();
  updateCount();
}

// Leaving a pipe ends it for both once paired, and drops its keys.
function closeStream() {
  if (view && view.source) view.source.close();
  if (view && view.pipe) {
    view.pipe.party = null;
    view.sealed = null;
  }
  view = null;
}

// A view's events are handled one after another, also while a sealed one is being opened; one that
// fails (malformed) is skipped and never stops the stream.
function inOrder(state, task) {
  state.queue = state.queue.then(task).catch(() => {});
}

// An encrypted stream's messages with `opened` ({ text, time, nonce }, or null when one does not open,
// as in a pipe not yet paired); a plain stream's as they are.
async function reveal(state, messages) {
  if (!encrypted(state)) return messages;
  const sealed = state.sealed;
  return Promise.all(messages.map(async (message) => ({ ...message, opened: sealed && await sealed.open(message.Text) })));
}

async function refreshObservers(state) {
  try {
    const entry = (await json('/streams?stream=' + enc(state.name)))[state.name];
    if (view === state && entry) $('#observers').textContent = entry.Observers + ' here';
  } catch (_) { /* the stream may have gone; the next event says more */ }
}

// `mine`: a message this page sent to a pipe.
function messageItem(state, message, mine = false) {
  const li = document.createElement('li');
  li.dataset.id = message.Id;
  li.dataset.created = message.Created;
  const opened = encrypted(state) ? message.opened : null;  // never a field the server sent
  // A sealed message shows the send time it carries: the server's Created is only the server's word.
  const date = opened ? new Date(opened.time * 1000) : new Date(Number(BigInt(message.Created) / 1000000n));
  const time = document.createElement('time');
  time.dateTime = date.toISOString();
  time.textContent = date.toLocaleTimeString();
  if (!encrypted(state)) {
    li.append(time, linkified(message.Text));
  } else if (opened) {
    li.className = mine ? 'mine' : 'sealed';
    li.append(time, linkified(opened.text));
  } else {
    li.className = 'unreadable';  // never the raw text
    li.append(time, 'unreadable');
  }
  return li;
}

// Adds a message unless the list already shows it (a reconnect's replay may repeat some), or, when
// encrypted, unless its nonce was seen already (a replayed ciphertext, or in a pipe our own echo).
function add(state, message, atStart) {
  if (view !== state || state.ids.has(message.Id)) return;
  state.ids.add(message.Id);
  const created = BigInt(message.Created);
  if (state.oldest === null || created < state.oldest) state.oldest = created;
  if (state.newest === null || created > state.newest) state.newest = created;
  if (encrypted(state) && message.opened) {
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

// A text against its stream's limit: UTF-8 bytes when encrypted, characters otherwise.
function measure(state, text) {
  if (encrypted(state)) return { count: utf8.encode(text).length, max: MaltenE2E.MAX_TEXT_BYTES, unit: ' bytes' };
  return { count: [...text].length, max: MAX_CHARS, unit: '' };
}

function updateCount() {
  const { count, max, unit } = measure(view, $('#text').value);
  const over = count > max;
  const shut = Boolean(view && view.pipe && !view.sealed);  // a pipe not paired yet, or ended
  $('#count').textContent = count + ' / ' + max + unit;
  $('#count').classList.toggle('over', over);
  $('#text').classList.toggle('over', over);
  $('#text').disabled = shut;
  $('#post button').disabled = over || shut;
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
  const sealed = state && state.sealed;
  const text = $('#text').value;
  if (!state || text.trim() === '' || (state.pipe && !sealed)) return;
  const { count, max } = measure(state, text);
  if (count > max) return;
  try {
    const posted = sealed ? await sealed.seal(text) : text;
    // A pipe shows what we send as ours; its echo, known by the nonce, is not shown again.
    const mine = state.pipe && await sealed.open(posted);
    if (mine) state.nonces.add(mine.nonce);
    const message = await json('/messages', form({ stream: state.name, text: posted }));
    if (view !== state) return;
    if (mine) {
      $('#messages').append(messageItem(state, { ...message, opened: mine }, true));
      scrollToEnd();
    }
    $('#text').value = '';
    updateCount();
  } catch (error) {
    $('#post-error').textContent = error.message;
  }
});

// The fragment says what to show: `#k=<secret>` a sealed stream, `#p=<secret>` a pipe (the secret never
// leaves the fragment: requests carry only the name derived from it), `#<name>` a stream, nothing the streams.
async function route() {
  const turn = ++routed;
  closeStream();
  clearInterval(exploreTimer);
  const made = invite && location.hash === invite.fragment ? invite.party : null;  // the pipe just made here
  invite = null;
  if (!made) unshare();
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
    let opened = null;
    try {
      opened = link.kind === 'pipe' ? made || await MaltenE2E.pipe(link.secret) : await MaltenE2E.sealedStream(link.secret);
    } catch (error) {
      if (turn === routed) problem('This link does not work', error.message);
      return;
    }
    if (turn !== routed) return;
    if (link.kind === 'pipe') openPipe(opened); else openStream(opened.name, opened);
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
