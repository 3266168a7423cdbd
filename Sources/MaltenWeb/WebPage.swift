/// The page's HTML: a shell that `app.js` fills in. No inline script or style (the CSP forbids them).
enum WebPage {
    static let html = #"""
    <!doctype html>
    <html lang="en">
    <head>
    <meta charset="utf-8">
    <meta name="viewport" content="width=device-width, initial-scale=1">
    <meta name="referrer" content="no-referrer">
    <title>Malten</title>
    <link rel="icon" href="/icon.svg" type="image/svg+xml">
    <link rel="stylesheet" href="/app.css">
    <script src="/app.js" defer></script>
    </head>
    <body>
    <header>
      <a href="#" class="brand">Malten</a>
      <span id="status" role="status" aria-live="polite"></span>
    </header>
    <main>
      <section id="explore" hidden>
        <h1>Streams</h1>
        <ul id="streams" aria-live="polite"></ul>
        <form id="create">
          <h2>New stream</h2>
          <label>Name <input name="stream" autocomplete="off" spellcheck="false" placeholder="random when empty" maxlength="64"></label>
          <label class="check"><input type="checkbox" name="private"> Private: never listed, a random name to share</label>
          <label>Vanishes after
            <select name="ttl">
              <option value="60">1 minute quiet</option>
              <option value="600">10 minutes quiet</option>
              <option value="1024" selected>17 minutes quiet</option>
              <option value="3600">1 hour quiet</option>
              <option value="86400">1 day quiet</option>
            </select>
          </label>
          <button type="submit">Create</button>
          <p id="create-error" class="error" role="alert"></p>
        </form>
        <div id="share" hidden>
          <p>Your private stream. Anyone with this link can read and write it:</p>
          <input id="share-link" readonly aria-label="Share link">
          <button type="button" id="copy">Copy link</button>
          <a id="share-open" href="#">Open the stream</a>
        </div>
      </section>
      <section id="stream" hidden>
        <h1><span id="stream-name"></span> <span id="observers" class="meta"></span></h1>
        <ol id="messages" tabindex="0" aria-label="Messages"></ol>
        <form id="post">
          <textarea id="text" rows="2" aria-label="Message" placeholder="Message (Enter sends, Shift+Enter for a new line)"></textarea>
          <div class="row"><span id="count" class="meta">0 / 1024</span><button type="submit">Send</button></div>
          <p id="post-error" class="error" role="alert"></p>
        </form>
      </section>
    </main>
    </body>
    </html>

    """#
}
