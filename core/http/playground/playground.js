// The playground: an editor, a run button and a view of the result, over the server's own API
// (POST /run, /sessions...). Everything a run printed or returned is shown as text
// (textContent) or as an image from a data: URL; HTML from results only inside a sandboxed
// iframe without scripts. The page's Content-Security-Policy allows no inline script at all.
'use strict';

(() => {
  const INDENT = '    ';
  const KEY_STORE = 'pyrunner.playground.key';
  const DRAFT_STORE = 'pyrunner.playground.code';
  const NDJSON = 'application/x-ndjson';

  // The six classic cases (examples/client.py, README), then what the rich results show.
  const EXAMPLES = [
    {name: 'Print', code: 'print(2 + 2)\n'},
    {
      name: 'sympy',
      code: 'from sympy import symbols, expand, factor\n' +
          "x, y = symbols('x y')\n" +
          'print(expand((x + y)**3))\n' +
          'print(factor(x**3 - y**3))\n',
    },
    {
      name: 'numpy',
      code: 'import numpy as np\n' +
          'a = np.arange(1, 11)\n' +
          "print('mean', a.mean(), 'std', round(a.std(), 4))\n" +
          "print('cumsum', a.cumsum())\n",
    },
    {
      name: 'Exception',
      code: 'def ratio(a, b):\n    return a / b\n\nprint(ratio(1, 0))\n',
    },
    {
      name: 'Timeout (2 s)',
      code: 'import time\nprint("partial", flush=True)\ntime.sleep(35)\n',
      timeout: 2,
    },
    {
      name: 'Memory limit (256 MB)',
      code: 'import numpy as np\na = np.zeros((1000, 1000, 100))  # 800 MB\n',
      memory: 256,
    },
    {
      name: 'Plot (matplotlib)',
      code: 'import numpy as np\nimport matplotlib.pyplot as plt\n\n' +
          'x = np.linspace(0, 2 * np.pi, 200)\n' +
          'fig, ax = plt.subplots(figsize=(6, 3.5))\n' +
          "ax.plot(x, np.sin(x), label='sin')\n" +
          "ax.plot(x, np.cos(x), label='cos')\n" +
          "ax.set_title('Two waves')\n" +
          'ax.legend()\n' +
          'plt.show()\n',
    },
    {
      name: 'DataFrame (pandas)',
      code: 'import pandas as pd\n\n' +
          'df = pd.DataFrame({\n' +
          "    'city': ['Lisbon', 'Oslo', 'Quito', 'Perth'],\n" +
          "    'population_k': [545, 709, 2011, 2192],\n" +
          "    'elevation_m': [2, 23, 2850, 31],\n" +
          '})\n' +
          "df['density_rank'] = df['population_k'].rank(ascending=False).astype(int)\n" +
          'df\n',
    },
    {
      name: 'Files (download)',
      code: 'import pandas as pd\n\n' +
          "df = pd.DataFrame({'x': range(5), 'square': [i * i for i in range(5)]})\n" +
          "df.to_csv('squares.csv', index=False)\n" +
          "with open('notes.txt', 'w') as f:\n" +
          "    f.write('written in the sandbox\\n')\n" +
          "print(open('squares.csv').read())\n",
    },
    {
      name: 'Output as it happens',
      code: 'import time\n\nfor i in range(1, 6):\n' +
          "    print(f'step {i}', flush=True)\n" +
          '    time.sleep(0.5)\n' +
          "print('done')\n",
    },
    {
      name: 'Session: state across runs',
      code: 'try:\n    runs += 1\nexcept NameError:\n    runs = 1\n' +
          "print(f'this session has run this {runs} time(s)')\n",
      mode: 'session',
    },
  ];

  const $ = (id) => document.getElementById(id);
  const editor = $('code');
  const ui = {
    run: $('run'), stop: $('stop'), reset: $('reset'), example: $('example'),
    timeout: $('timeout'), memory: $('memory'), stdin: $('stdin'), key: $('api-key'),
    status: $('status'), stats: $('stats'), output: $('output'), server: $('server'),
    sessionInfo: $('session-info'),
  };
  const state = {
    limits: null,       // GET /'s limits
    sessionId: null,    // the open session, in session mode
    sessionMemory: null,
    running: null,      // the run in flight: {controller, session, started, stopping}
    blobUrls: [],       // download links of the shown result, revoked when it goes
    escaped: false,     // Esc was pressed: the next Tab leaves the editor
  };

  // ---------------------------------------------------------------------------------------
  // The API

  class HttpError extends Error {
    constructor(status, detail, retryAfter) {
      super(detail);
      this.status = status;
      this.retryAfter = retryAfter;
    }
  }

  function headers(extra) {
    const h = Object.assign({'Content-Type': 'application/json'}, extra);
    const key = ui.key.value.trim();
    if (key) h['Authorization'] = 'Bearer ' + key;
    return h;
  }

  async function failure(res) {
    let detail = res.statusText || 'HTTP ' + res.status;
    try {
      const body = await res.json();
      if (body && typeof body.detail === 'string') detail = body.detail;
    } catch (e) {
      // not JSON: keep the status text
    }
    return new HttpError(res.status, detail, res.headers.get('Retry-After'));
  }

  // A JSON request; the parsed answer, or an HttpError.
  async function api(method, path, body, signal) {
    const init = {method, headers: headers(), signal};
    if (body !== undefined) init.body = JSON.stringify(body);
    const res = await fetch(path, init);
    if (!res.ok) throw await failure(res);
    return res.status === 204 ? null : res.json();
  }

  function mode() {
    return $('mode-session').checked ? 'session' : 'run';
  }

  async function ensureSession(signal) {
    if (state.sessionId) return state.sessionId;
    const memory = Number(ui.memory.value);
    const session = await api('POST', 'sessions', {memory_limit: memory}, signal);
    state.sessionId = session.id;
    state.sessionMemory = memory;
    showSession();
    return session.id;
  }

  function endSession(reason) {
    const id = state.sessionId;
    state.sessionId = null;
    showSession(reason);
    if (id) {
      api('DELETE', 'sessions/' + encodeURIComponent(id)).catch(() => {});
    }
  }

  function showSession(note) {
    const session = mode() === 'session';
    ui.reset.disabled = !session || !state.sessionId;
    if (!session) {
      ui.sessionInfo.textContent = '';
    } else if (state.sessionId) {
      ui.sessionInfo.textContent = 'Session ' + state.sessionId.slice(-8) + ' · ' +
          state.sessionMemory + ' MB';
      ui.sessionInfo.title = state.sessionId;
    } else {
      ui.sessionInfo.textContent = note || 'The next run starts a session.';
      ui.sessionInfo.removeAttribute('title');
    }
  }

  // Reads an NDJSON answer as it arrives: output is shown while the run goes on; the last
  // event is the result.
  async function readStream(res, view) {
    const reader = res.body.getReader();
    const decoder = new TextDecoder();
    let buffer = '';
    let result = null;
    const take = (line) => {
      if (!line.trim()) return;
      const event = JSON.parse(line);
      if (event.type === 'stdout' || event.type === 'stderr') view.text(event.type, event.text);
      else if (event.type === 'display' || event.type === 'execute_result') view.bundle(event, true);
      else if (event.type === 'result') result = event.result;
      else if (event.type === 'error') throw new Error('the run ended without a result: ' + (event.detail || event.status));
    };
    for (;;) {
      const {value, done} = await reader.read();
      if (done) break;
      buffer += decoder.decode(value, {stream: true});
      let newline;
      while ((newline = buffer.indexOf('\n')) >= 0) {
        take(buffer.slice(0, newline));
        buffer = buffer.slice(newline + 1);
      }
    }
    take(buffer + decoder.decode());
    if (!result) throw new Error('the answer ended before the result');
    return result;
  }

  // ---------------------------------------------------------------------------------------
  // Running

  async function run() {
    if (state.running) return;
    const code = editor.value;
    if (!code.trim()) {
      setStatus('failed', 'Write some code first');
      editor.focus();
      return;
    }
    if (!ui.timeout.reportValidity() || !ui.memory.reportValidity()) return;
    // `session`: the session whose run this is (Stop interrupts it; null: a one-off run, or no
    // run request sent yet: Stop aborts); `started`: the server answered, the run is going.
    const running = {controller: new AbortController(), session: null, started: false, stopping: false};
    const controller = running.controller;
    state.running = running;
    setRunning(true);
    clearOutput();
    setStatus('running', 'Running…');
    const view = new OutputView(ui.output);
    try {
      const body = {code, timeout: Number(ui.timeout.value)};
      if (ui.stdin.value) body.stdin = ui.stdin.value;
      let path = 'run';
      if (mode() === 'session') {
        const id = await ensureSession(controller.signal);
        path = 'sessions/' + encodeURIComponent(id) + '/run';
        running.session = id;
      } else {
        body.memory_limit = Number(ui.memory.value);
      }
      const res = await fetch(path, {
        method: 'POST',
        headers: headers({Accept: NDJSON}),
        body: JSON.stringify(body),
        signal: controller.signal,
      });
      running.started = true;
      if (!res.ok) throw await failure(res);
      if (running.stopping) interrupt(running);  // Stop came before the run had started
      const type = res.headers.get('Content-Type') || '';
      const result = type.startsWith(NDJSON) ? await readStream(res, view) : await res.json();
      view.finish(result, state.sessionId);
      showResult(result);
      if (running.stopping && result.error === INTERRUPTED && !result.session_ended) {
        setStatus('stopped', 'Stopped: the session keeps its state');
      }
      if (result.session_ended) {
        state.sessionId = null;
        showSession('The session ended (' + result.session_ended + '); the next run starts a new one.');
      }
    } catch (e) {
      view.close();
      showFailure(e);
    } finally {
      state.running = null;
      setRunning(false);
      document.body.dataset.runs = String(Number(document.body.dataset.runs) + 1);
    }
  }

  function showFailure(e) {
    if (e.name === 'AbortError') {
      // A one-off run (the server killed it), or a session's before its run was sent.
      setStatus('stopped', 'Stopped');
      return;
    }
    if (!(e instanceof HttpError)) {
      setStatus('failed', 'The request failed: ' + e.message);
      return;
    }
    let text = 'HTTP ' + e.status + ': ' + e.message;
    if (e.status === 401) {
      text += ui.key.value ? ' (the API key was refused)' : ' (this server needs an API key)';
      ui.key.focus();
    } else if ((e.status === 404 || e.status === 410) && mode() === 'session') {
      state.sessionId = null;
      showSession('The session ended; the next run starts a new one.');
    } else if (e.retryAfter) {
      text += ' (retry after ' + e.retryAfter + ' s)';
    }
    setStatus('failed', text);
  }

  function stop() {
    const running = state.running;
    if (!running) return;
    if (!running.session) {
      running.controller.abort();  // the server kills a run whose client hung up
      return;
    }
    // A session's run is interrupted, as Jupyter does (a KeyboardInterrupt; the session keeps
    // its state): its answer then comes as any run's. Stop again interrupts again.
    running.stopping = true;
    setStatus('running', 'Interrupting…');
    if (running.started) interrupt(running);
  }

  // POST /sessions/{id}/interrupt. Its answer changes nothing here: the run's own says how it
  // ended (interrupted, finished meanwhile, or its session ended).
  function interrupt(running) {
    api('POST', 'sessions/' + encodeURIComponent(running.session) + '/interrupt').catch(() => {});
  }

  async function reset() {
    // Deleting the session ends its run with it.
    if (state.running) state.running.controller.abort();
    endSession('Session reset: the next run starts a fresh interpreter.');
    clearOutput();
    setStatus('ready', 'Ready');
  }

  function setRunning(running) {
    document.body.dataset.run = running ? 'running' : 'done';
    ui.run.disabled = running;
    ui.stop.disabled = !running;
    ui.output.setAttribute('aria-busy', running ? 'true' : 'false');
  }

  function setStatus(kind, text) {
    ui.status.dataset.status = kind;
    ui.status.textContent = text;
  }

  function clearOutput() {
    for (const url of state.blobUrls) URL.revokeObjectURL(url);
    state.blobUrls = [];
    ui.output.replaceChildren();
    ui.stats.hidden = true;
  }

  // The `error` of a run its client interrupted (POST /sessions/{id}/interrupt).
  const INTERRUPTED = 'Interrupted by the client';

  const STATUS_TEXT = {
    success: 'Success',
    error: 'Error',
    timeout: 'Timed out',
    memory_exceeded: 'Memory limit exceeded',
  };

  function showResult(result) {
    setStatus(result.status, STATUS_TEXT[result.status] || String(result.status));
    $('stat-time').textContent = seconds(result.execution_time);
    $('stat-memory').textContent =
        typeof result.memory_used === 'number' ? result.memory_used.toFixed(1) + ' MB' : '–';
    $('stat-exit').textContent = result.exit_code === null ? '–' : String(result.exit_code);
    const counted = typeof result.execution_count === 'number';
    $('stat-count-row').hidden = !counted;
    if (counted) $('stat-count').textContent = String(result.execution_count);
    ui.stats.hidden = false;
  }

  function seconds(s) {
    if (typeof s !== 'number') return '–';
    return s < 1 ? Math.round(s * 1000) + ' ms' : s.toFixed(2) + ' s';
  }

  function bytes(n) {
    if (n < 1024) return n + ' B';
    if (n < 1 << 20) return (n / 1024).toFixed(1) + ' KiB';
    return (n / (1 << 20)).toFixed(1) + ' MiB';
  }

  // ---------------------------------------------------------------------------------------
  // The output: text as text, images as images, HTML in a sandbox

  class OutputView {
    constructor(root) {
      this.root = root;
      this.last = null;  // the <pre> consecutive text of one stream goes into
      this.lastStderr = null;
      this.streamed = {stdout: false, stderr: false, bundles: 0};
    }

    text(kind, text) {
      if (!text) return;
      if (!this.last || this.last.dataset.stream !== kind) {
        this.last = element('pre', 'stream ' + kind);
        this.last.dataset.stream = kind;
        this.last.setAttribute('aria-label', kind);
        this.root.append(this.last);
      }
      this.last.append(text);  // a text node: never parsed as HTML
      if (kind === 'stderr') this.lastStderr = this.last;
    }

    bundle(item, streamed) {
      if (streamed) this.streamed.bundles += 1;
      this.root.append(renderBundle(item));
      this.last = null;
    }

    // What the streamed events did not show yet, then the exception, notes and files.
    finish(result, sessionId) {
      if (!this.streamed.bundles && !this.root.childElementCount) {
        this.text('stdout', result.stdout);
        this.text('stderr', result.stderr);
      }
      const results = Array.isArray(result.results) ? result.results : [];
      for (const item of results.slice(this.streamed.bundles)) this.bundle(item, false);
      if (result.exception) this.exception(result.exception);
      else if (result.status !== 'success' && result.error) this.note(result.error, 'error-note');
      if (result.truncated) this.note('Output was truncated at the server\'s limits.', 'warn');
      const files = Array.isArray(result.files) ? result.files : [];
      if (files.length) this.root.append(renderFiles(files, result.files_truncated, sessionId));
    }

    // Marks the text of a run that ended without a result.
    close() {
      this.last = null;
    }

    exception(exc) {
      // The traceback is on stderr too: show it once, in the exception's box.
      const traceback = (exc.traceback || []).join('\n');
      const err = this.lastStderr;
      if (traceback && err && err.textContent.endsWith(traceback + '\n')) {
        err.textContent = err.textContent.slice(0, -(traceback.length + 1));
        if (!err.textContent) err.remove();
      }
      const box = element('div', 'exception');
      box.setAttribute('role', 'group');
      box.setAttribute('aria-label', 'Exception');
      const title = element('p', 'exception-title');
      title.append(element('strong', '', exc.name), exc.value ? ': ' + exc.value : '');
      box.append(title);
      if (traceback) box.append(element('pre', 'traceback', traceback));
      this.root.append(box);
      this.last = null;
    }

    note(text, kind) {
      this.root.append(element('p', 'note ' + kind, text));
      this.last = null;
    }
  }

  function element(tag, className, text) {
    const e = document.createElement(tag);
    if (className) e.className = className;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function renderBundle(item) {
    const data = item.data || {};
    const metadata = item.metadata || {};
    const figure = element('figure', 'result ' + (item.type === 'execute_result' ? 'value' : 'display'));
    const plain = typeof data['text/plain'] === 'string' ? data['text/plain'] : '';
    if (item.type === 'execute_result') figure.append(element('span', 'out-label', 'Out'));
    if (typeof data['text/html'] === 'string') {
      figure.append(htmlFrame(data['text/html'], plain));
    } else if (typeof data['image/png'] === 'string' || typeof data['image/jpeg'] === 'string') {
      const mime = typeof data['image/png'] === 'string' ? 'image/png' : 'image/jpeg';
      figure.append(image('data:' + mime + ';base64,' + data[mime], plain, metadata[mime]));
    } else if (typeof data['image/svg+xml'] === 'string') {
      // As an image, never inlined into the page: an <img> runs no script of the SVG.
      const svg = 'data:image/svg+xml;charset=utf-8,' + encodeURIComponent(data['image/svg+xml']);
      figure.append(image(svg, plain, metadata['image/svg+xml']));
    } else {
      const text = plain || data['text/latex'] || data['text/markdown'] ||
          (data['application/json'] !== undefined ? JSON.stringify(data['application/json'], null, 2) : '');
      figure.append(element('pre', 'stream value-text', text));
    }
    return figure;
  }

  function image(src, alt, size) {
    const img = element('img', 'figure');
    img.alt = alt || 'figure';
    if (size && size.width && size.height) {
      img.width = size.width;
      img.height = size.height;
    }
    img.src = src;
    return img;
  }

  // Result HTML (a DataFrame's table, a widget's markup) in an iframe with sandbox="": an
  // opaque origin, no scripts, no forms, no popups, no navigation of the page. It inherits the
  // page's Content-Security-Policy, so it fetches nothing from elsewhere either.
  function htmlFrame(html, plain) {
    const frame = document.createElement('iframe');
    frame.setAttribute('sandbox', '');
    frame.setAttribute('referrerpolicy', 'no-referrer');
    frame.className = 'html-result';
    frame.title = plain ? 'HTML result: ' + plain.split('\n')[0].slice(0, 80) : 'HTML result';
    const css = new URL('playground/frame.css', document.baseURI).href;
    frame.srcdoc = '<!doctype html><html><head><meta charset="utf-8">' +
        '<link rel="stylesheet" href="' + css + '"></head><body>' + html + '</body></html>';
    // The frame's document is not ours to measure (sandbox): size it by its rows, the user can
    // resize it.
    const rows = (html.match(/<tr[\s>]/gi) || []).length;
    const lines = html.split('\n').length;
    const height = rows ? 24 + rows * 29 : 16 + Math.min(lines, 24) * 20;
    frame.style.height = Math.max(60, Math.min(height, 520)) + 'px';
    return frame;
  }

  function renderFiles(files, truncated, sessionId) {
    const box = element('section', 'files');
    box.setAttribute('aria-label', 'Files written');
    box.append(element('h3', '', 'Files written'));
    const list = element('ul');
    for (const file of files) {
      const item = element('li');
      const name = file.path.split('/').pop();
      if (typeof file.content === 'string') {
        const url = URL.createObjectURL(new Blob([base64Bytes(file.content)], {type: file.mime || 'application/octet-stream'}));
        state.blobUrls.push(url);
        const link = element('a', 'download', file.path);
        link.href = url;
        link.download = name;
        item.append(link);
      } else if (sessionId) {
        const button = element('button', 'download', file.path);
        button.type = 'button';
        button.addEventListener('click', () => downloadFromSession(sessionId, file.path, name));
        item.append(button);
      } else {
        item.append(element('span', 'download', file.path));
      }
      let about = ' ' + bytes(file.size) + (file.mime ? ' · ' + file.mime : '');
      if (typeof file.content !== 'string') about += ' · ' + (file.omitted || 'not inline');
      item.append(element('span', 'file-about', about));
      list.append(item);
    }
    box.append(list);
    if (truncated) box.append(element('p', 'note warn', 'More files were written than a result lists.'));
    return box;
  }

  function base64Bytes(text) {
    const raw = atob(text);
    const out = new Uint8Array(raw.length);
    for (let i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out;
  }

  // A file too large to come inline, from the session's directory (GET /sessions/{id}/files/...).
  async function downloadFromSession(id, path, name) {
    try {
      const encoded = path.split('/').map(encodeURIComponent).join('/');
      const res = await fetch('sessions/' + encodeURIComponent(id) + '/files/' + encoded, {headers: headers()});
      if (!res.ok) throw await failure(res);
      const url = URL.createObjectURL(await res.blob());
      state.blobUrls.push(url);
      const link = element('a');
      link.href = url;
      link.download = name;
      document.body.append(link);
      link.click();
      link.remove();
    } catch (e) {
      showFailure(e);
    }
  }

  // ---------------------------------------------------------------------------------------
  // The editor: a textarea with the keys an editor has. Edits go through insertText, so that
  // undo (Ctrl+Z) undoes them.

  function replace(start, end, text, selectStart, selectEnd) {
    editor.focus();
    editor.setSelectionRange(start, end);
    if (!document.execCommand('insertText', false, text)) {
      editor.setRangeText(text, start, end, 'end');
    }
    editor.setSelectionRange(selectStart, selectEnd);
    saveDraft();
  }

  // The whole lines the selection touches: [from, to).
  function selectedLines() {
    const value = editor.value;
    const start = editor.selectionStart;
    let end = editor.selectionEnd;
    if (end > start && value[end - 1] === '\n') end -= 1;  // a selection up to a line's start
    const from = value.lastIndexOf('\n', start - 1) + 1;
    let to = value.indexOf('\n', end);
    if (to < 0) to = value.length;
    return {from, to, lines: value.slice(from, to).split('\n')};
  }

  function indent() {
    const start = editor.selectionStart;
    const end = editor.selectionEnd;
    if (!editor.value.slice(start, end).includes('\n')) {
      const column = start - (editor.value.lastIndexOf('\n', start - 1) + 1);
      const spaces = ' '.repeat(INDENT.length - (column % INDENT.length));
      replace(start, end, spaces, start + spaces.length, start + spaces.length);
      return;
    }
    const {from, to, lines} = selectedLines();
    const text = lines.map((line) => (line ? INDENT + line : line)).join('\n');
    const firstAdded = lines[0] ? INDENT.length : 0;
    replace(from, to, text, start + firstAdded, end + (text.length - (to - from)));
  }

  function dedent() {
    const start = editor.selectionStart;
    const end = editor.selectionEnd;
    const {from, to, lines} = selectedLines();
    const removed = lines.map((line) => (line.startsWith('\t') ? 1 : Math.min(line.search(/[^ ]|$/), INDENT.length)));
    if (!removed.some((n) => n > 0)) return;
    const text = lines.map((line, i) => line.slice(removed[i])).join('\n');
    const firstColumn = start - from;
    const newStart = Math.max(from, start - Math.min(removed[0], firstColumn));
    replace(from, to, text, newStart, Math.max(newStart, end - (to - from - text.length)));
  }

  // Enter keeps the line's indentation, one level more after a colon.
  function newline() {
    const start = editor.selectionStart;
    const value = editor.value;
    const lineStart = value.lastIndexOf('\n', start - 1) + 1;
    const line = value.slice(lineStart, start);
    let indentation = line.slice(0, line.length - line.trimStart().length);
    if (line.trimEnd().endsWith(':')) indentation += INDENT;
    const text = '\n' + indentation;
    replace(start, editor.selectionEnd, text, start + text.length, start + text.length);
  }

  editor.addEventListener('keydown', (e) => {
    if (e.key === 'Escape') {
      state.escaped = true;
      return;
    }
    const escaped = state.escaped;
    state.escaped = false;
    if (e.key === 'Tab' && !e.ctrlKey && !e.altKey && !e.metaKey) {
      if (escaped) return;  // keyboard users can always leave the editor
      e.preventDefault();
      if (e.shiftKey) dedent();
      else indent();
    } else if (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey && !e.metaKey && !e.altKey &&
               !e.isComposing) {
      e.preventDefault();
      newline();
    }
  });

  // Ctrl+Enter (Cmd+Enter) runs, wherever the focus is.
  document.addEventListener('keydown', (e) => {
    if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
      e.preventDefault();
      run();
    }
  });

  function saveDraft() {
    try {
      sessionStorage.setItem(DRAFT_STORE, editor.value);
    } catch (e) {
      // storage full or off: the draft is just not kept
    }
  }

  // ---------------------------------------------------------------------------------------
  // Settings, examples, the server's limits

  function loadExample(example) {
    editor.value = example.code;
    saveDraft();
    ui.timeout.value = String(example.timeout || (state.limits ? state.limits.timeout.default : 30));
    ui.memory.value = String(example.memory || (state.limits ? state.limits.memory_limit_mb.default : 512));
    if (example.mode) {
      $('mode-' + example.mode).checked = true;
      modeChanged();
    }
    editor.focus();
    editor.setSelectionRange(editor.value.length, editor.value.length);
  }

  function modeChanged() {
    if (mode() === 'run' && state.sessionId) endSession();
    showSession();
  }

  function applyLimits(limits) {
    const set = (input, range) => {
      if (!range) return;
      input.min = String(range.min);
      input.max = String(range.max);
      input.value = String(range.default);
    };
    set(ui.timeout, limits.timeout);
    set(ui.memory, limits.memory_limit_mb);
    state.limits = limits;
    $('limits-help').textContent = 'Timeout ' + limits.timeout.min + '–' + limits.timeout.max +
        ' s, memory ' + limits.memory_limit_mb.min + '–' + limits.memory_limit_mb.max +
        ' MB (the server\'s limits). A session\'s memory limit is set when it starts.';
  }

  async function connect() {
    try {
      const res = await fetch('./', {headers: headers()});
      const health = await res.json();
      if (health.limits && health.limits.timeout && health.limits.memory_limit_mb) {
        applyLimits(health.limits);
      }
      const python = health.python && health.python.version ? ' · Python ' + health.python.version : '';
      ui.server.textContent = 'pyrunner ' + (health.version || '') + python + ' · ' +
          (health.status || 'HTTP ' + res.status);
      ui.server.dataset.status = health.status || 'unknown';
    } catch (e) {
      ui.server.textContent = 'The server did not answer: ' + e.message;
      ui.server.dataset.status = 'unavailable';
    }
  }

  for (const [i, example] of EXAMPLES.entries()) {
    const option = element('option', '', example.name);
    option.value = String(i);
    ui.example.append(option);
  }
  ui.example.addEventListener('change', () => {
    const example = EXAMPLES[Number(ui.example.value)];
    if (ui.example.value !== '' && example) loadExample(example);
  });
  for (const radio of document.querySelectorAll('input[name="mode"]')) {
    radio.addEventListener('change', modeChanged);
  }
  ui.memory.addEventListener('change', () => {
    if (state.sessionId && Number(ui.memory.value) !== state.sessionMemory) {
      ui.sessionInfo.textContent += ' (Reset to use ' + ui.memory.value + ' MB)';
    }
  });
  ui.run.addEventListener('click', run);
  ui.stop.addEventListener('click', stop);
  ui.reset.addEventListener('click', reset);
  editor.addEventListener('input', () => {
    saveDraft();
    ui.example.value = '';  // the code is no longer the example's
  });

  try {
    ui.key.value = sessionStorage.getItem(KEY_STORE) || '';
  } catch (e) {
    // no storage: the key lives in the field only
  }
  ui.key.addEventListener('input', () => {
    try {
      if (ui.key.value) sessionStorage.setItem(KEY_STORE, ui.key.value);
      else sessionStorage.removeItem(KEY_STORE);
    } catch (e) {
      // no storage: the key lives in the field only
    }
  });

  // A session ends with the page rather than lingering until its idle timeout.
  window.addEventListener('pagehide', () => {
    if (!state.sessionId) return;
    fetch('sessions/' + encodeURIComponent(state.sessionId), {method: 'DELETE', headers: headers(), keepalive: true})
        .catch(() => {});
  });

  let draft = null;
  try {
    draft = sessionStorage.getItem(DRAFT_STORE);
  } catch (e) {
    // no storage
  }
  editor.value = draft !== null ? draft : EXAMPLES[0].code;
  showSession();
  connect().finally(() => {
    document.body.dataset.ready = 'true';
  });
})();
