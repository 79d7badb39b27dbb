/*!
 * gennai.js: the web interface's own progressive enhancement (docs/decisions/0016).
 * Hand-written, no build step; plain ES2017 for the supported browsers (Chrome/Edge 87,
 * Firefox ESR 91, Safari 15). Every page works without it.
 *
 *   gennai.csrfToken()                       the session's CSRF token (<meta name="csrf-token">)
 *   gennai.markdown(text, headingBase)       sanitised HTML for Markdown, or null when
 *                                            marked/DOMPurify are not loaded or fail
 *   gennai.renderMarkdown(el, text)          renders into el (plain text as a fallback;
 *                                            headings start at el's data-heading-base, 2)
 *   gennai.upgradeMarkdown(root)             renders every [data-markdown] under root
 *   gennai.readEvents(response, onEvent)     reads a fetch Response as server-sent events
 *   gennai.streamChat(options)               POSTs JSON, streams the answer into an element
 *   gennai.alert(kind, message, title)       an alert element like the alert() macro's
 *
 * Markdown needs vendor/marked.min.js and vendor/purify.min.js on the page (before this file).
 * htmx requests get the X-CSRF-Token header automatically.
 */
(function (window, document) {
  'use strict';

  var gennai = window.gennai || {};

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute('content') || '' : '';
  }

  // ---------------------------------------------------------------------------------------
  // Markdown → sanitised HTML
  // ---------------------------------------------------------------------------------------

  // What an answer may contain: text structure only. No images (a model can be talked into
  // writing an image URL that leaks the conversation when the browser fetches it), no forms,
  // no styles, no classes except a code block's language (so an answer cannot dress itself up
  // as gennai's own alerts or buttons).
  var ALLOWED_TAGS = [
    'a', 'abbr', 'b', 'blockquote', 'br', 'code', 'del', 'details', 'div', 'em', 'h1', 'h2',
    'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'input', 'kbd', 'li', 'ol', 'p', 'pre', 's', 'span',
    'strong', 'sub', 'summary', 'sup', 'table', 'tbody', 'td', 'tfoot', 'th', 'thead', 'tr', 'ul'
  ];
  var ALLOWED_ATTR = ['href', 'title', 'align', 'start', 'type', 'checked', 'disabled', 'class', 'colspan', 'rowspan'];
  var markdownReady = false;

  function escapeHtml(text) {
    return String(text).replace(/[&<>"']/g, function (c) {
      return { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }[c];
    });
  }

  function setUpMarkdown() {
    if (markdownReady) return true;
    var marked = window.marked;
    var purify = window.DOMPurify;
    if (!marked || !purify || !purify.isSupported) return false;
    marked.use({
      gfm: true,
      breaks: true,
      renderer: {
        image: function (token) {
          var label = '画像: ' + (token.text || token.href || '');
          return token.href ? '<a href="' + escapeHtml(token.href) + '">' + escapeHtml(label) + '</a>' : escapeHtml(label);
        }
      }
    });
    purify.addHook('uponSanitizeAttribute', function (node, data) {
      if (data.attrName === 'class' && !/^language-[\w+#.-]{1,40}$/.test(data.attrValue)) data.keepAttr = false;
      if (data.attrName === 'type' && node.nodeName !== 'INPUT') data.keepAttr = false;
    });
    purify.addHook('afterSanitizeAttributes', function (node) {
      if (node.nodeName === 'A' && node.hasAttribute('href')) {
        node.setAttribute('rel', 'noopener noreferrer nofollow');
        node.setAttribute('referrerpolicy', 'no-referrer');
      }
      // Task-list checkboxes only, and never editable.
      if (node.nodeName === 'INPUT') {
        if (node.getAttribute('type') !== 'checkbox') node.parentNode && node.parentNode.removeChild(node);
        else node.setAttribute('disabled', '');
      }
    });
    markdownReady = true;
    return true;
  }

  // An answer's headings keep their relative levels, with the highest at `headingBase` (by
  // default h2, for answers right under the page's h1: set data-heading-base="3" on the
  // element when each message has its own h2), so the page outline has no gaps.
  function shiftHeadings(tokens, headingBase) {
    var highest = 7;
    window.marked.walkTokens(tokens, function (token) {
      if (token.type === 'heading') highest = Math.min(highest, token.depth);
    });
    if (highest === 7) return;
    window.marked.walkTokens(tokens, function (token) {
      if (token.type === 'heading') token.depth = Math.min(6, token.depth - highest + headingBase);
    });
  }

  function markdown(text, headingBase) {
    if (!setUpMarkdown()) return null;
    try {
      var tokens = window.marked.lexer(String(text || ''));
      shiftHeadings(tokens, Math.max(1, Math.min(6, headingBase || 2)));
      var html = window.marked.parser(tokens);
      return window.DOMPurify.sanitize(html, {
        ALLOWED_TAGS: ALLOWED_TAGS,
        ALLOWED_ATTR: ALLOWED_ATTR,
        ALLOW_DATA_ATTR: false,
        ALLOW_ARIA_ATTR: false
      });
    } catch (err) {
      return null; // e.g. a browser whose regular expressions marked cannot compile
    }
  }

  function wrapTables(el) {
    var tables = el.querySelectorAll('table');
    for (var i = 0; i < tables.length; i++) {
      var table = tables[i];
      if (table.parentNode && table.parentNode.classList && table.parentNode.classList.contains('table-wrap')) continue;
      var wrap = document.createElement('div');
      wrap.className = 'table-wrap';
      wrap.setAttribute('role', 'region');
      wrap.setAttribute('aria-label', '表');
      wrap.tabIndex = 0;
      table.parentNode.insertBefore(wrap, table);
      wrap.appendChild(table);
    }
  }

  function renderMarkdown(el, text) {
    var html = markdown(text, parseInt(el.getAttribute('data-heading-base'), 10) || 2);
    if (html === null) {
      el.textContent = String(text || '');
      el.setAttribute('data-markdown-plain', '');
      return false;
    }
    el.innerHTML = html;
    wrapTables(el);
    el.removeAttribute('data-markdown-plain');
    el.setAttribute('data-markdown-rendered', '');
    return true;
  }

  // Server-rendered answers: <div class="markdown" data-markdown>{{ text }}</div> shows the
  // raw text (line breaks kept) without script, and Markdown with it.
  function upgradeMarkdown(root) {
    var scope = root && root.querySelectorAll ? root : document;
    var nodes = scope.querySelectorAll('[data-markdown]:not([data-markdown-rendered])');
    for (var i = 0; i < nodes.length; i++) renderMarkdown(nodes[i], nodes[i].textContent);
    if (scope.matches && scope.matches('[data-markdown]:not([data-markdown-rendered])')) {
      renderMarkdown(scope, scope.textContent);
    }
  }

  // ---------------------------------------------------------------------------------------
  // Server-sent events over fetch (EventSource cannot POST a message)
  // ---------------------------------------------------------------------------------------

  async function readEvents(response, onEvent) {
    var reader = response.body.getReader();
    var decoder = new TextDecoder('utf-8');
    var buffer = '';
    var event = { event: 'message', data: [], id: null };

    function dispatch() {
      if (event.data.length) {
        var keepGoing = onEvent({ event: event.event, data: event.data.join('\n'), id: event.id });
        if (keepGoing === false) return false;
      }
      event = { event: 'message', data: [], id: null };
      return true;
    }

    for (;;) {
      var chunk = await reader.read();
      if (chunk.done) {
        buffer += decoder.decode();
      } else {
        buffer += decoder.decode(chunk.value, { stream: true });
      }
      var lines = buffer.split(/\r\n|\r|\n/);
      buffer = chunk.done ? '' : lines.pop();
      for (var i = 0; i < lines.length; i++) {
        var line = lines[i];
        if (line === '') {
          if (dispatch() === false) {
            reader.cancel().catch(function () {});
            return;
          }
          continue;
        }
        if (line.charAt(0) === ':') continue;
        var colon = line.indexOf(':');
        var field = colon === -1 ? line : line.slice(0, colon);
        var value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'data') event.data.push(value);
        else if (field === 'event') event.event = value;
        else if (field === 'id') event.id = value;
      }
      if (chunk.done) {
        dispatch();
        return;
      }
    }
  }

  // The OpenAI chat-completion chunk shape, which gennai's own API streams.
  function openAIDelta(payload) {
    var choice = payload && payload.choices && payload.choices[0];
    var delta = choice && choice.delta;
    return {
      text: delta && typeof delta.content === 'string' ? delta.content : '',
      finishReason: choice ? choice.finish_reason || null : null,
      usage: payload ? payload.usage || null : null
    };
  }

  function announce(status, message) {
    if (status) status.textContent = message;
  }

  async function errorMessage(response) {
    try {
      var body = await response.json();
      if (body && body.error && body.error.message) return body.error.message;
      if (body && body.detail) return String(body.detail);
    } catch (err) { /* not JSON */ }
    return 'サーバーがエラーを返しました（' + response.status + '）。しばらくしてからもう一度お試しください。';
  }

  /*
   * Streams an answer into an element and renders it as Markdown as it arrives.
   *   url, body (sent as JSON), target (element for the answer), status (an aria-live
   *   role="status" element for short announcements; optional), signal (AbortSignal for a
   *   stop button; optional), headers (optional), extract(payload) → {text, finishReason,
   *   usage} (optional; default: OpenAI chunks), onEvent(event, payload) (optional: every
   *   event, e.g. the conversation id or classification sent by the server).
   * Resolves with {text, finishReason, usage, aborted}; rejects with an Error whose message
   * is meant for the user (the server's error message where it sent one).
   * The target gets aria-busy="true" while the answer grows, so screen readers read it once
   * it is complete instead of every fragment.
   */
  async function streamChat(options) {
    var target = options.target;
    var status = options.status || null;
    var extract = options.extract || openAIDelta;
    var text = '';
    var result = { text: '', finishReason: null, usage: null, aborted: false };
    var scheduled = null;
    var lastRender = 0;

    function render() {
      scheduled = null;
      lastRender = Date.now();
      renderMarkdown(target, text);
    }
    function scheduleRender() {
      if (scheduled !== null) return;
      if (lastRender === 0) {
        render(); // the first words at once: the reader sees the answer start without waiting for a frame
        return;
      }
      // Re-rendering the whole answer is simple and robust; at most ~10 times a second keeps
      // it light on old PCs.
      var wait = Math.max(0, 100 - (Date.now() - lastRender));
      scheduled = window.setTimeout(function () { window.requestAnimationFrame(render); }, wait);
    }

    var headers = { 'Content-Type': 'application/json', Accept: 'text/event-stream', 'X-CSRF-Token': csrfToken() };
    if (options.headers) Object.keys(options.headers).forEach(function (k) { headers[k] = options.headers[k]; });

    target.setAttribute('aria-busy', 'true');
    announce(status, '回答を作成しています…');
    try {
      var response = await window.fetch(options.url, {
        method: 'POST',
        headers: headers,
        body: JSON.stringify(options.body || {}),
        credentials: 'same-origin',
        signal: options.signal
      });
      if (!response.ok) throw new Error(await errorMessage(response));
      if (!response.body) throw new Error('このブラウザーでは回答を順に表示できません。');
      var failure = null;
      await readEvents(response, function (event) {
        if (event.data === '[DONE]') return false;
        var payload;
        try {
          payload = JSON.parse(event.data);
        } catch (err) {
          payload = null;
        }
        if (options.onEvent) options.onEvent(event, payload);
        if (payload && payload.error) {
          failure = new Error(payload.error.message || '回答の途中でエラーが起きました。');
          return false;
        }
        if (event.event !== 'message' || payload === null) return true;
        var part = extract(payload) || {};
        if (part.text) {
          text += part.text;
          scheduleRender();
        }
        if (part.finishReason) result.finishReason = part.finishReason;
        if (part.usage) result.usage = part.usage;
        return true;
      });
      if (failure) throw failure;
      announce(status, '回答が完了しました。');
    } catch (err) {
      if (err && err.name === 'AbortError') {
        result.aborted = true;
        announce(status, '回答を途中で止めました。');
      } else {
        announce(status, '');
        if (err instanceof TypeError) {
          throw new Error('サーバーに接続できませんでした。ネットワークを確認して、もう一度お試しください。');
        }
        throw err;
      }
    } finally {
      if (scheduled !== null) window.clearTimeout(scheduled);
      scheduled = null;
      renderMarkdown(target, text);
      target.removeAttribute('aria-busy');
      result.text = text;
    }
    return result;
  }

  // ---------------------------------------------------------------------------------------
  // Alerts (same markup as the alert() macro in templates/_macros.html)
  // ---------------------------------------------------------------------------------------

  var ALERT_TITLES = { info: 'お知らせ', success: '完了', warning: '注意', error: 'エラー' };

  function alertElement(kind, message, title) {
    kind = ALERT_TITLES[kind] ? kind : 'info';
    var box = document.createElement('div');
    box.className = 'alert alert-' + kind;
    box.setAttribute('role', kind === 'error' || kind === 'warning' ? 'alert' : 'status');
    var heading = document.createElement('p');
    heading.className = 'alert-title';
    heading.textContent = title || ALERT_TITLES[kind];
    var body = document.createElement('p');
    body.textContent = message;
    box.appendChild(heading);
    box.appendChild(body);
    return box;
  }

  // ---------------------------------------------------------------------------------------
  // Wiring
  // ---------------------------------------------------------------------------------------

  document.addEventListener('htmx:configRequest', function (event) {
    var token = csrfToken();
    if (token && event.detail && event.detail.headers) event.detail.headers['X-CSRF-Token'] = token;
  });
  document.addEventListener('htmx:load', function (event) {
    upgradeMarkdown(event.target);
  });
  // Pages add marked and DOMPurify after this file (deferred scripts run in order, all before
  // DOMContentLoaded), so render server-sent answers only then; `load` covers a late insert.
  // Rendering is idempotent: an element is marked once it is done.
  if (document.readyState === 'complete') {
    upgradeMarkdown(document);
  } else {
    document.addEventListener('DOMContentLoaded', function () { upgradeMarkdown(document); });
    window.addEventListener('load', function () { upgradeMarkdown(document); });
  }

  // Copy text to the clipboard: the Clipboard API where the page may use it, else a hidden
  // textarea and execCommand (old corporate browsers, plain http). Focus goes back to where it
  // was (the textarea takes it while selected). A promise: resolved when copied.
  function copyByCommand(value) {
    var back = document.activeElement;
    var area = document.createElement('textarea');
    area.value = value;
    area.setAttribute('readonly', '');
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    var ok = false;
    try { ok = document.execCommand('copy'); } catch (err) { ok = false; }
    document.body.removeChild(area);
    if (back && back.focus) back.focus();
    return ok ? Promise.resolve() : Promise.reject(new Error('copy'));
  }

  function copyText(value) {
    if (!navigator.clipboard || !window.isSecureContext) return copyByCommand(value);
    return navigator.clipboard.writeText(value).catch(function () { return copyByCommand(value); });
  }

  gennai.csrfToken = csrfToken;
  gennai.copyText = copyText;
  gennai.markdown = markdown;
  gennai.renderMarkdown = renderMarkdown;
  gennai.upgradeMarkdown = upgradeMarkdown;
  gennai.readEvents = readEvents;
  gennai.streamChat = streamChat;
  gennai.alert = alertElement;
  window.gennai = gennai;
})(window, document);
