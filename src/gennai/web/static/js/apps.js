/*!
 * apps.js: a general app's page (templates/app.html, gennai.web.app_pages).
 * Hand-written, no build step, plain ES2017 (Chrome/Edge 87, Firefox ESR 91, Safari 15).
 * Without it the form posts and the page comes back with the answer (実行前に確認: with the
 * preview). With it: the form is sent as JSON (files read here into the protocol's
 * inputs.files), the answer streams into #app-answer (gennai.streamChat), 止める aborts it,
 * the server's field errors go next to their fields, and 回答をコピー copies the answer. The
 * preview (#app-preview) is refreshed by htmx as the form is filled in, so 実行前に確認 is
 * hidden here.
 */
(function (window, document) {
  'use strict';

  var g = window.gennai;
  var form = document.getElementById('app-form');
  if (!form || !g || !g.streamChat || !window.fetch || !window.AbortController || !window.FileReader) return;

  var PREFIX = 'in-';
  var run = document.getElementById('app-run');
  var stop = document.getElementById('app-stop');
  var status = document.getElementById('app-status');
  var alerts = document.getElementById('app-alerts');
  var summarySlot = document.getElementById('app-error-summary-slot');
  var section = document.getElementById('app-answer-section');
  var label = document.getElementById('app-answer-label');
  var answer = document.getElementById('app-answer');
  var partial = document.getElementById('app-answer-partial');
  var copy = document.getElementById('app-copy');
  var check = document.getElementById('app-check');
  var controller = null;
  var text = '';

  form.noValidate = true; // the server checks and explains in Japanese, next to each field
  if (check) check.hidden = true; // the preview refreshes by itself
  text = answer.textContent; // an answer rendered by the server (a run without script), before gennai.js renders it
  copy.hidden = !text.trim();

  function say(message) { status.textContent = message; }

  // ---------------------------------------------------------------- field errors
  function fieldBox(key) { return form.querySelector('[data-field="' + key + '"]'); }
  function describedTarget(key) {
    return document.getElementById('field-' + key + '-group') || document.getElementById('field-' + key);
  }

  function clearErrors() {
    summarySlot.textContent = '';
    alerts.textContent = '';
    var errors = form.querySelectorAll('[data-field] .field-error');
    for (var i = 0; i < errors.length; i++) {
      var key = errors[i].closest('[data-field]').getAttribute('data-field');
      var target = describedTarget(key);
      if (target) {
        var ids = (target.getAttribute('aria-describedby') || '').split(' ').filter(function (id) { return id && id !== errors[i].id; });
        if (ids.length) target.setAttribute('aria-describedby', ids.join(' '));
        else target.removeAttribute('aria-describedby');
      }
      errors[i].parentNode.removeChild(errors[i]);
    }
    var invalid = form.querySelectorAll('[aria-invalid="true"]');
    for (var j = 0; j < invalid.length; j++) invalid[j].removeAttribute('aria-invalid');
  }

  function showFieldErrors(fields) {
    var list = document.createElement('ul');
    list.className = 'list-disc pl-6';
    Object.keys(fields).forEach(function (key) {
      var box = fieldBox(key);
      var item = document.createElement('li');
      if (box) {
        var id = 'field-' + key + '-error';
        var error = document.createElement('p');
        error.className = 'field-error';
        error.id = id;
        error.textContent = '＊' + fields[key];
        (box.querySelector('fieldset, .field') || box).appendChild(error);
        var controls = box.querySelectorAll('input, select, textarea');
        for (var i = 0; i < controls.length; i++) controls[i].setAttribute('aria-invalid', 'true');
        var target = describedTarget(key);
        if (target) target.setAttribute('aria-describedby', ((target.getAttribute('aria-describedby') || '') + ' ' + id).trim());
        var link = document.createElement('a');
        link.href = '#field-' + key;
        var legend = box.querySelector('legend, label');
        link.textContent = (legend ? legend.firstChild.textContent.trim() + ': ' : '') + fields[key];
        item.appendChild(link);
      } else {
        item.textContent = fields[key];
      }
      list.appendChild(item);
    });
    var summary = g.alert('error', '', '入力内容を確認してください');
    summary.id = 'error-summary';
    summary.tabIndex = -1;
    summary.replaceChild(list, summary.lastChild);
    summarySlot.appendChild(summary);
    summary.focus();
  }

  function showAlert(error) {
    var box = g.alert('error', error.message, error.title);
    if (error.hints && error.hints.length) {
      var list = document.createElement('ul');
      list.className = 'list-disc pl-6';
      error.hints.forEach(function (hint) {
        var item = document.createElement('li');
        item.textContent = hint;
        list.appendChild(item);
      });
      box.appendChild(list);
    }
    if (error.details) {
      var details = document.createElement('details');
      var summary = document.createElement('summary');
      summary.textContent = '詳しい内容';
      var body = document.createElement('p');
      body.textContent = error.details;
      details.appendChild(summary);
      details.appendChild(body);
      box.appendChild(details);
    }
    alerts.appendChild(box);
  }

  // ---------------------------------------------------------------- the inputs
  function readFile(file) {
    return new Promise(function (resolve, reject) {
      var reader = new FileReader();
      reader.onload = function () { resolve({ filename: file.name, content: reader.result }); };
      reader.onerror = function () { reject(new Error('「' + file.name + '」を読み込めませんでした。')); };
      reader.readAsDataURL(file);
    });
  }

  // The protocol's inputs: one value per key (a checkbox's choices joined by commas), files
  // under inputs.files. Rejects with {fields} when a file is over its limits.
  async function collect() {
    var inputs = {};
    var files = [];
    var problems = {};
    var boxes = form.querySelectorAll('[data-field]');
    for (var i = 0; i < boxes.length; i++) {
      var key = boxes[i].getAttribute('data-field');
      var type = boxes[i].getAttribute('data-type');
      var name = PREFIX + key;
      if (type === 'checkbox') {
        var ticked = boxes[i].querySelectorAll('input[type="checkbox"]:checked');
        inputs[key] = Array.prototype.map.call(ticked, function (el) { return el.value; }).join(',');
      } else if (type === 'radio') {
        var chosen = boxes[i].querySelector('input[type="radio"]:checked');
        inputs[key] = chosen ? chosen.value : '';
      } else if (type === 'file') {
        var input = form.elements[name];
        var picked = Array.prototype.slice.call(input.files || []);
        var maxFiles = parseInt(input.getAttribute('data-max-files'), 10) || 1;
        var maxBytes = parseInt(input.getAttribute('data-max-bytes'), 10) || 0;
        if (picked.length > maxFiles) {
          problems[key] = 'ファイルは' + maxFiles + '個まで添付できます（現在' + picked.length + '個）。';
          continue;
        }
        var tooBig = picked.filter(function (f) { return maxBytes && Math.ceil(f.size / 3) * 4 > maxBytes; })[0];
        if (tooBig) {
          problems[key] = '「' + tooBig.name + '」はファイルサイズの上限を超えています。';
          continue;
        }
        if (picked.length) files.push({ key: key, files: await Promise.all(picked.map(readFile)) });
      } else if (form.elements[name]) {
        inputs[key] = form.elements[name].value;
      }
    }
    if (Object.keys(problems).length) throw { fields: problems };
    if (files.length) inputs.files = files;
    return inputs;
  }

  // ---------------------------------------------------------------- running
  function running(on) {
    if (on) run.setAttribute('aria-disabled', 'true');
    else run.removeAttribute('aria-disabled');
    stop.hidden = !on;
    if (!on && document.activeElement === stop) run.focus();
  }

  form.addEventListener('submit', async function (event) {
    if (event.submitter && event.submitter.id === 'app-check') return; // a plain post to the preview
    event.preventDefault();
    if (controller) return; // already running
    clearErrors();
    var inputs;
    try {
      inputs = await collect();
    } catch (err) {
      if (err && err.fields) showFieldErrors(err.fields);
      else showAlert({ title: 'ファイルを読み込めませんでした', message: err.message || String(err) });
      return;
    }
    var failure = null;
    text = '';
    controller = new AbortController();
    running(true);
    answer.textContent = '';
    partial.hidden = true;
    copy.hidden = true;
    label.textContent = 'AIが生成した回答。内容は必ず確認してください。';
    section.hidden = false;
    section.setAttribute('data-state', 'running');
    try {
      var result = await g.streamChat({
        url: form.action,
        body: {
          inputs: inputs,
          model: form.elements.model.value,
          classification: parseInt(form.elements.classification.value, 10),
          team_id: form.elements.team.value
        },
        target: answer,
        status: status,
        signal: controller.signal,
        extract: function (payload) { return { text: payload && typeof payload.text === 'string' ? payload.text : '' }; },
        onEvent: function (ev, payload) {
          if (ev.event === 'started' && payload) {
            label.textContent = 'AIが生成した回答（モデル: ' + (payload.model_name || payload.model) + '／' + payload.class_name + '）。内容は必ず確認してください。';
          } else if (ev.event === 'error' && payload && payload.error) {
            failure = payload.error;
          }
        }
      });
      text = result.text;
      section.setAttribute('data-state', result.aborted ? 'aborted' : 'done');
      if (result.aborted && text) partial.hidden = false;
    } catch (err) {
      text = answer.textContent;
      section.setAttribute('data-state', 'error');
      if (failure && failure.fields && Object.keys(failure.fields).length) {
        showFieldErrors(failure.fields);
      } else {
        showAlert(failure || { title: '実行できませんでした', message: err.message });
      }
      if (failure && failure.partial && text) partial.hidden = false;
      say(failure ? failure.title + '。' : '実行できませんでした。');
    } finally {
      controller = null;
      running(false);
      if (!text.trim()) section.hidden = true;
      copy.hidden = !text.trim();
    }
  });

  stop.addEventListener('click', function () {
    if (controller) controller.abort();
  });

  // ---------------------------------------------------------------- copying
  copy.addEventListener('click', function () {
    var value = text || answer.textContent;
    g.copyText(value).then(function () {
      say('回答をコピーしました。');
    }, function () {
      say('コピーできませんでした。回答を選択してコピーしてください。');
    });
  });
})(window, document);
