/*!
 * chat.js: the chat page's enhancements (templates/chat.html, gennai.web.chat_pages).
 * Hand-written, no build step, plain ES2017 (Chrome/Edge 87, Firefox ESR 91, Safari 15).
 * Without it every action is a form post. With it: the answer streams (gennai.streamChat over
 * POST /chat/send), 停止 aborts it (the server cancels the model call), 再生成 resends the last
 * question, 回答をコピー copies (with a fallback where the Clipboard API is missing), 編集して再送信
 * puts a question back into the box, feedback is sent with fetch, Ctrl/⌘+Enter sends.
 */
(function (window, document) {
  'use strict';

  var g = window.gennai;
  var form = document.getElementById('chat-form');
  if (!form || !g || !g.streamChat || !window.fetch || !window.AbortController || !window.TextDecoder || !window.Promise) return;

  var log = document.getElementById('chat-log');
  var box = document.getElementById('chat-text');
  var files = document.getElementById('chat-files');
  var stop = document.getElementById('chat-stop');
  var status = document.getElementById('chat-status');
  var preview = document.getElementById('chat-preview');
  var controller = null;
  var last = null; // the last question sent from this page: {text, attachments}

  function role(el, name) { return el.querySelector('[data-role="' + name + '"]'); }
  function reveal(root) {
    var items = root.querySelectorAll('[data-js-only]');
    for (var i = 0; i < items.length; i++) if (!items[i].hasAttribute('data-not-last')) items[i].hidden = false;
  }
  function say(message) { status.textContent = message; }
  function value(name) { var el = form.elements[name]; return el ? el.value : ''; }
  function clone(id) { return document.getElementById(id).content.firstElementChild.cloneNode(true); }

  reveal(document);
  var check = document.getElementById('chat-check');
  if (check) check.hidden = true; // the preview refreshes by itself

  // The models a class may not use are marked in their labels (「機密性2には使えません」).
  function markModels() {
    var klass = value('class');
    var options = form.elements.model.options;
    for (var i = 0; i < options.length; i++) {
      var cleared = options[i].getAttribute('data-cleared');
      if (cleared === null) continue;
      var ok = (' ' + cleared + ' ').indexOf(' ' + klass + ' ') >= 0;
      options[i].textContent = options[i].getAttribute('data-label') + (ok ? '' : '／機密性' + klass + 'には使えません');
    }
  }
  form.elements['class'].addEventListener('change', markModels);

  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve({ type: 'file', file: { filename: file.name, file_data: reader.result } }); };
      reader.onerror = function () { reject(new Error('「' + file.name + '」を読み込めませんでした。')); };
      reader.readAsDataURL(file);
    });
  }

  function problem(article, error, partial) {
    var kind = error.kind === 'quota' ? 'warning' : 'error';
    var alert = g.alert(kind, error.message, error.title);
    var advice = error.advice || [];
    if (advice.length) {
      var list = document.createElement('ul');
      list.className = 'list-disc pl-6';
      advice.forEach(function (line) { var li = document.createElement('li'); li.textContent = line; list.appendChild(li); });
      alert.appendChild(list);
    }
    alert.setAttribute('data-kind', error.kind || 'network');
    role(article, 'problem').appendChild(alert);
    if (partial) role(article, 'answer').setAttribute('data-partial', '');
  }

  function busy(on) {
    stop.disabled = !on;
    form.setAttribute('aria-busy', on ? 'true' : 'false');
  }

  function lastOnly() { // 再生成 only on the newest answer
    var buttons = log.querySelectorAll('[data-action="regenerate"]');
    for (var i = 0; i < buttons.length; i++) buttons[i].hidden = i !== buttons.length - 1;
  }

  async function send(text, attachments) {
    if (controller) { say('回答の作成中です。止めるには「停止」を押してください。'); return; }
    var empty = document.getElementById('chat-empty');
    if (empty) empty.hidden = true;
    var question = clone('chat-tpl-user');
    role(question, 'text').textContent = text;
    if (attachments.length) {
      role(question, 'files').textContent = '添付: ' + attachments.map(function (a) { return a.file.filename; }).join('、');
      role(question, 'files').hidden = false;
    }
    reveal(question);
    log.appendChild(question);
    var answer = clone('chat-tpl-assistant');
    var target = role(answer, 'answer');
    log.appendChild(answer);
    answer.setAttribute('aria-busy', 'true');
    if (question.scrollIntoView) question.scrollIntoView({ block: 'start' });
    last = { text: text, attachments: attachments };
    controller = new AbortController();
    busy(true);
    var failure = null;
    var done = null;
    try {
      var result = await g.streamChat({
        url: '/chat/send',
        body: {
          conversation_id: value('conversation_id') || null, text: text, model: value('model'),
          'class': parseInt(value('class'), 10) || 1, team_id: value('team_id') || null, attachments: attachments
        },
        target: target,
        status: status,
        signal: controller.signal,
        extract: function (p) { return { text: p.type === 'delta' ? p.text : '' }; },
        onEvent: function (event, p) {
          if (!p) return;
          var id = p.conversation_id || (p.error && p.error.conversation_id);
          if (id && !value('conversation_id')) {
            form.elements.conversation_id.value = id;
            if (window.history.replaceState) window.history.replaceState(null, '', '/chat/' + encodeURIComponent(id));
          }
          if (p.type === 'started') {
            role(answer, 'model').textContent = p.model_label || p.model;
            role(answer, 'class').textContent = p.class_name;
          } else if (p.type === 'done') {
            done = p;
          } else if (p.type === 'error') {
            failure = p.error;
          }
        }
      });
      if (result.aborted) {
        problem(answer, { kind: 'stopped', title: '回答を止めました', message: '途中で止めた回答は保存されていません。「再生成」で作り直せます。' }, true);
      }
    } catch (err) {
      var partial = !!target.textContent;
      problem(answer, failure || {
        kind: 'network', title: partial ? '通信が途中で切れました' : '送信できませんでした',
        message: err.message.split(' / ')[0] + (partial ? ' 途中までの回答を表示しています（保存されていない場合があります）。' : ''),
        advice: ['ネットワークを確認して、「再生成」を押してください。']
      }, partial);
      say(failure ? failure.title : err.message);
    } finally {
      controller = null;
      busy(false);
      answer.removeAttribute('aria-busy');
    }
    reveal(answer);
    if (!target.textContent) role(answer, 'label').hidden = true;
    if (done && done.request_id) {
      role(answer, 'request-id').value = done.request_id;
      role(answer, 'feedback').hidden = false;
    }
    if (!target.textContent) role(answer, 'actions').querySelector('[data-action="copy"]').hidden = true;
    lastOnly();
  }

  form.addEventListener('submit', function (event) {
    if (event.submitter && event.submitter.id === 'chat-check') return;
    event.preventDefault();
    var text = box.value.trim();
    if (!text) { box.focus(); return; }
    if (controller) { say('回答の作成中です。止めるには「停止」を押してください。'); return; }
    var size = 0;
    Array.prototype.forEach.call(files.files || [], function (file) { size += file.size; });
    var max = parseInt(form.getAttribute('data-max-bytes'), 10) || Infinity;
    if (size * 4 / 3 + text.length * 3 > max) { // sent as base64 in JSON
      say('添付ファイルが大きすぎます（合計で約' + Math.floor(max * 3 / 4 / 1048576) + 'MBまで）。');
      return;
    }
    Promise.all(Array.prototype.map.call(files.files || [], readFile)).then(function (attachments) {
      box.value = '';
      files.value = '';
      preview.innerHTML = '';
      send(text, attachments);
    }, function (err) { say(err.message); });
  });

  box.addEventListener('keydown', function (event) {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey) && !event.isComposing) {
      event.preventDefault();
      if (form.requestSubmit) form.requestSubmit(document.getElementById('chat-send'));
      else document.getElementById('chat-send').click();
    }
  });

  stop.addEventListener('click', function () { if (controller) controller.abort(); });

  function copy(text) {
    g.copyText(text).then(function () { say('回答をコピーしました。'); },
      function () { say('コピーできませんでした。回答を選択してコピーしてください。'); });
  }

  log.addEventListener('click', function (event) {
    var button = event.target.closest ? event.target.closest('[data-action]') : null;
    if (!button) return;
    var article = button.closest('article');
    var action = button.getAttribute('data-action');
    if (action === 'copy') {
      copy(role(article, 'answer').innerText);
    } else if (action === 'edit') {
      box.value = role(article, 'text').textContent;
      box.focus();
      box.dispatchEvent(new Event('input', { bubbles: true })); // refresh the preview
    } else if (action === 'regenerate') {
      var questions = log.querySelectorAll('[data-message="user"]');
      var question = questions.length ? role(questions[questions.length - 1], 'text').textContent : '';
      if (last && last.text === question) send(last.text, last.attachments);
      else if (question) send(question, []);
    }
  });

  log.addEventListener('submit', function (event) {
    var feedback = event.target;
    if (!feedback.hasAttribute('data-feedback')) return;
    event.preventDefault();
    var rating = event.submitter ? event.submitter.value : 'good';
    window.fetch('/chat/feedback', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': g.csrfToken() },
      body: JSON.stringify({ request_id: feedback.elements.request_id.value, rating: rating, comment: feedback.elements.comment.value })
    }).then(function (response) {
      return response.json().then(function (body) {
        if (!response.ok) throw new Error(body && body.error ? body.error.message.split(' / ')[0] : '送信できませんでした。');
        var thanks = document.createElement('p');
        thanks.setAttribute('role', 'status');
        thanks.textContent = 'ご意見ありがとうございました（' + (rating === 'good' ? '役に立った' : '役に立たなかった') + '）。';
        feedback.parentNode.replaceChild(thanks, feedback);
      });
    }).catch(function (err) { say('ご意見を送れませんでした：' + err.message); });
  });

  lastOnly();
})(window, document);
