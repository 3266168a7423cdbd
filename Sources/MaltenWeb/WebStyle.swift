/// The page's stylesheet: readable on a phone and on a desktop, visible keyboard focus.
enum WebStyle {
    static let css = #"""
    :root { color-scheme: light dark; --fg: #1b1b1b; --bg: #fafafa; --muted: #6b6b6b; --line: #ddd; --accent: #0b63ce; --error: #b00020; }
    @media (prefers-color-scheme: dark) { :root { --fg: #eee; --bg: #141414; --muted: #9a9a9a; --line: #333; --accent: #6aa9ff; --error: #ff6b81; } }
    * { box-sizing: border-box; }
    body { margin: 0; font: 16px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
    header { display: flex; align-items: center; gap: 1rem; padding: .6rem 1rem; border-bottom: 1px solid var(--line); }
    .brand { font-weight: 700; color: var(--fg); text-decoration: none; }
    #status { color: var(--muted); font-size: .9rem; }
    main { max-width: 48rem; margin: 0 auto; padding: 1rem; }
    h1 { font-size: 1.4rem; margin: .2rem 0 1rem; word-break: break-all; }
    h2 { font-size: 1.1rem; margin: 0 0 .6rem; }
    .meta { color: var(--muted); font-size: .9rem; font-weight: 400; }
    a { color: var(--accent); }
    :focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
    #streams { list-style: none; padding: 0; margin: 0 0 2rem; }
    #streams li { display: flex; justify-content: space-between; gap: 1rem; padding: .5rem 0; border-bottom: 1px solid var(--line); }
    #streams a { word-break: break-all; }
    form label { display: block; margin: .5rem 0; }
    input, select, textarea, button { font: inherit; color: inherit; }
    input[name=stream], select, #share-link { display: block; width: 100%; padding: .45rem; margin-top: .2rem; border: 1px solid var(--line); border-radius: 6px; background: transparent; }
    label.check input { margin-right: .4rem; }
    button { padding: .45rem 1rem; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: #fff; cursor: pointer; }
    button:disabled { opacity: .5; cursor: not-allowed; }
    #share { margin-top: 1rem; padding: 1rem; border: 1px solid var(--line); border-radius: 8px; }
    #share button, #share a { margin-top: .5rem; margin-right: 1rem; }
    #messages { list-style: none; padding: 0; margin: 0; height: calc(100dvh - 17.5rem); min-height: 12rem; overflow-y: auto; border: 1px solid var(--line); border-radius: 8px; }
    #messages li { padding: .45rem .7rem; border-bottom: 1px solid var(--line); white-space: pre-wrap; overflow-wrap: anywhere; }
    #messages li time { display: block; color: var(--muted); font-size: .75rem; }
    #messages li.marker { color: var(--muted); font-style: italic; text-align: center; font-size: .85rem; }
    #post { margin-top: .7rem; }
    #text { width: 100%; padding: .5rem; border: 1px solid var(--line); border-radius: 6px; background: transparent; resize: vertical; }
    #text.over { border-color: var(--error); }
    .row { display: flex; justify-content: space-between; align-items: center; margin-top: .4rem; }
    #count.over { color: var(--error); }
    .error { color: var(--error); min-height: 1.2em; margin: .4rem 0 0; }
    .empty { color: var(--muted); }
    [hidden] { display: none !important; }
    @media (max-width: 30rem) { main { padding: .6rem; } #messages { height: calc(100dvh - 18rem); } }

    """#
}
