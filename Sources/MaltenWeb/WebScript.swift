/// The page's script: explore, create and share, and a stream view that goes live over
/// `/events` (EventSource resumes by `Last-Event-ID` on its own). Text is only ever set as text.
enum WebScript {
    static let js = #"""
    'use strict';
    const MAX_CHARS = 1024;
    const $ = (selector) => document.querySelector(selector);
    const enc = encodeURIComponent;
    let view = null;        // the open stream: { name, source, ids, oldest, newest, older }
    let exploreTimer = null;

    function status(text) { $('#status').textContent = text; }

    function show(section) {
      for (const id of ['explore', 'stream']) $('#' + id).hidden = id !== section;
    }

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
    async function explore() {
      show('explore');
      document.title = 'Malten';
      await refreshStreams();
      exploreTimer = setInterval(refreshStreams, 5000);
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

    $('#create').addEventListener('submit', async (event) => {
      event.preventDefault();
      const fields = new FormData(event.target);
      const isPrivate = fields.get('private') === 'on';
      const request = { private: String(isPrivate), ttl: fields.get('ttl') };
      const name = (fields.get('stream') || '').trim();  // a disabled field is not in the form
      if (name && !isPrivate) request.stream = name;  // a private stream's name is random
      $('#create-error').textContent = '';
      try {
        const created = await json('/streams', form(request));
        if (isPrivate) {
          const link = location.origin + '/#' + enc(created.stream);
          $('#share-link').value = link;
          $('#share-open').href = '#' + enc(created.stream);
          $('#share').hidden = false;
          $('#share-link').select();
        } else {
          location.hash = enc(created.stream);
        }
      } catch (error) {
        $('#create-error').textContent = error.message;
      }
    });

    $('#create input[name=private]').addEventListener('change', (event) => {
      $('#create input[name=stream]').disabled = event.target.checked;
    });

    $('#copy').addEventListener('click', async () => {
      try {
        await navigator.clipboard.writeText($('#share-link').value);
        status('Link copied');
      } catch (_) {
        $('#share-link').select();
        status('Select and copy the link');
      }
    });

    // A stream: the newest messages, then live events; older ones on scrolling up.
    async function openStream(name) {
      show('stream');
      document.title = name + ' · Malten';
      $('#stream-name').textContent = name;
      $('#messages').replaceChildren();
      $('#post-error').textContent = '';
      const state = { name, source: null, ids: new Set(), oldest: null, newest: null, older: false, done: false };
      view = state;
      try {
        for (const message of await json('/messages?stream=' + enc(name) + '&limit=25')) add(state, message, false);
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
      source.onmessage = (event) => {
        const data = JSON.parse(event.data);
        if (data.Type === 'message') {
          const atEnd = nearEnd();
          add(state, data, false);
          if (atEnd) scrollToEnd();
        } else if (data.Type === 'event') {
          refreshObservers(state);
        }
      };
      source.addEventListener('gap', () => marker(state, 'Earlier messages expired'));
      source.addEventListener('lagged', () => status('Fell behind; catching up…'));
      source.addEventListener('evicted', () => { status('This stream was removed'); source.close(); });
      refreshObservers(state);
    }

    function closeStream() {
      if (view && view.source) view.source.close();
      view = null;
    }

    async function refreshObservers(state) {
      try {
        const entry = (await json('/streams?stream=' + enc(state.name)))[state.name];
        if (view === state && entry) $('#observers').textContent = entry.Observers + ' here';
      } catch (_) { /* the stream may have gone; the next event says more */ }
    }

    function messageItem(message) {
      const li = document.createElement('li');
      li.dataset.id = message.Id;
      const time = document.createElement('time');
      const date = new Date(Number(BigInt(message.Created) / 1000000n));
      time.dateTime = date.toISOString();
      time.textContent = date.toLocaleTimeString();
      li.append(time, linkified(message.Text));
      return li;
    }

    // Adds a message unless the list already shows it (a reconnect's replay may repeat some).
    function add(state, message, atStart) {
      if (view !== state || state.ids.has(message.Id)) return;
      state.ids.add(message.Id);
      const created = BigInt(message.Created);
      if (state.oldest === null || created < state.oldest) state.oldest = created;
      if (state.newest === null || created > state.newest) state.newest = created;
      const list = $('#messages');
      if (atStart) list.prepend(messageItem(message)); else list.append(messageItem(message));
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
        const older = await json('/messages?stream=' + enc(state.name) + '&limit=25&direction=-1&last=' + state.oldest);
        const height = list.scrollHeight;
        for (const message of older) add(state, message, true);
        list.scrollTop += list.scrollHeight - height;
        if (older.length === 0) state.done = true;
      } catch (_) { /* try again on the next scroll */ }
      state.older = false;
    });

    function characters(text) { return [...text].length; }

    function updateCount() {
      const count = characters($('#text').value);
      const over = count > MAX_CHARS;
      $('#count').textContent = count + ' / ' + MAX_CHARS;
      $('#count').classList.toggle('over', over);
      $('#text').classList.toggle('over', over);
      $('#post button').disabled = over;
      $('#post-error').textContent = over ? 'Too long: at most ' + MAX_CHARS + ' characters' : '';
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
      if (!state || text.trim() === '' || characters(text) > MAX_CHARS) return;
      try {
        await json('/messages', form({ stream: state.name, text }));
        $('#text').value = '';
        updateCount();
      } catch (error) {
        $('#post-error').textContent = error.message;
      }
    });

    function route() {
      closeStream();
      clearInterval(exploreTimer);
      $('#share').hidden = true;
      const name = decodeURIComponent(location.hash.slice(1));
      if (name) openStream(name); else explore();
    }

    window.addEventListener('hashchange', route);
    route();

    """#
}
