// chipfit serve: the form, the shareable address, and the result drawn by the report renderer.
// Plain JS, no dependencies; every request goes to this server.
(function () {
  'use strict';

  var $ = function (id) { return document.getElementById(id); };
  var form = $('form'), out = $('out'), report = $('report'), errorBox = $('error'), statusBox = $('status');
  var fileInput = $('file'), drop = $('drop');

  // The fields each view sends (besides model / scenario and the file), and the CLI's default precision.
  var FIELDS = {
    count: ['precision', 'batch', 'seq_len'],
    check: ['chip', 'fps', 'precision', 'batch', 'seq_len'],
    rank: ['fps', 'precision', 'batch', 'seq_len', 'by', 'category', 'max_power'],
    llm: ['chip', 'prompt', 'output', 'batch', 'precision'],
    plan: ['chip', 'rank'],
    whatif: ['chip', 'fps', 'precision', 'seq_len', 'levers', 'batches', 'precisions', 'scales', 'prune_ratios']
  };
  // The choices and each view's defaults, from the server's parameter models (never typed twice).
  var SPEC = JSON.parse($('chipfit-params').textContent);
  // Every POST carries the token the server wrote into this page (other sites cannot read it).
  function post(url, type, body) {
    var headers = { 'X-Chipfit-Token': SPEC.token };
    if (type) { headers['Content-Type'] = type; }
    return fetch(url, { method: 'POST', headers: headers, body: body });
  }
  var PRECISION = {};
  Object.keys(FIELDS).forEach(function (v) {
    if (SPEC.defaults[v] && SPEC.defaults[v].precision) { PRECISION[v] = SPEC.defaults[v].precision; }
  });
  function fill(id, values) {
    values.forEach(function (x) { var o = document.createElement('option'); o.textContent = x; $(id).appendChild(o); });
  }
  fill('precision', SPEC.choices.precision);
  fill('by', SPEC.choices.by);
  fill('category', SPEC.choices.category);
  // What the page asks for on top (charts need every op; the report shows the formulas).
  var EXTRA = { count: { per_layer: 'true' }, check: { per_layer: 'true', explain: 'true' },
                rank: { explain: 'true' }, llm: { explain: 'true' }, whatif: {} };
  var SAMPLE = ['name: camera box', 'chip: jetson-orin-nano-8gb', 'precision: int8', 'latency_budget_s: 0.1',
                'stages:', '  - name: detector', '    model: ssdlite320_mobilenet_v3_large', '    rate: {per_s: 30}',
                '    streams: 2', '  - name: classifier', '    model: mobilenet_v3_small', '    after: [detector]',
                '    rate: {per_input: 5}', '    batch: 5', ''].join('\n');
  var MAX_URL_SCENARIO = 6000;

  var uploaded = null;      // the File to send instead of a model name
  var lastResult = null;    // the last answer, for "Download report"
  var precisionTouched = false;

  function view() { return form.querySelector('input[name=view]:checked').value; }

  function setView(v) {
    var radio = form.querySelector('input[name=view][value="' + v + '"]');
    if (radio && !radio.disabled) { radio.checked = true; }
    showFields();
  }

  function showFields() {
    var v = view();
    form.querySelectorAll('.field[data-views]').forEach(function (el) {
      el.hidden = el.getAttribute('data-views').split(' ').indexOf(v) < 0 ||
                  (!!uploaded && el.hasAttribute('data-builtin-only'));   // an ONNX file has its own shapes
    });
    if (!precisionTouched && PRECISION[v]) { $('precision').value = PRECISION[v]; }
    var chipSel = $('chip');
    var none = chipSel.querySelector('option[value=""]');
    if (none) { none.hidden = v !== 'plan'; }
    if (v !== 'plan' && chipSel.value === '') { chipSel.selectedIndex = chipSel.options.length > 1 ? 1 : 0; }
  }

  // The what-if levers: the checked ones, comma-separated; '' when all are (the CLI's default,
  // which leaves out what the chip cannot do, such as sparsity without a sparse peak).
  function leverBoxes() { return Array.prototype.slice.call(form.querySelectorAll('input[name=levers]')); }

  function levers() {
    var boxes = leverBoxes(), on = boxes.filter(function (b) { return b.checked; });
    return on.length === boxes.length ? '' : on.map(function (b) { return b.value; }).join(',');
  }

  function setLevers(text) {
    var names = String(text || '').split(',').map(function (w) { return w.trim(); }).filter(Boolean);
    leverBoxes().forEach(function (b) { b.checked = !names.length || names.indexOf(b.value) >= 0; });
  }

  function value(name) {
    if (name === 'levers') { return levers(); }
    var el = form.elements[name];
    if (!el) { return ''; }
    if (el.type === 'checkbox') { return el.checked ? 'true' : ''; }
    return String(el.value).trim();
  }

  function setValue(name, v) {
    if (name === 'levers') { setLevers(v); return; }
    var el = form.elements[name];
    if (!el) { return; }
    if (el.type === 'checkbox') { el.checked = v === 'true' || v === '1'; return; }
    if (el.tagName === 'SELECT' && !Array.prototype.some.call(el.options, function (o) { return o.value === v; })) {
      var opt = document.createElement('option');
      opt.value = opt.textContent = v;
      el.appendChild(opt);
    }
    el.value = v;
  }

  // The query of the current form: {view, model|scenario, fields...}, empty fields left out.
  function query() {
    var v = view(), q = { view: v };
    if (v === 'plan') { q.scenario = $('scenario').value; } else if (!uploaded) { q.model = value('model'); }
    FIELDS[v].forEach(function (name) { var x = value(name); if (x !== '') { q[name] = x; } });
    return q;
  }

  function qs(obj, skip) {
    var p = new URLSearchParams();
    Object.keys(obj).forEach(function (k) { if (!skip || skip.indexOf(k) < 0) { p.append(k, obj[k]); } });
    return p.toString().replace(/%2C/g, ',');     // lists stay readable: levers=batch,input
  }

  async function answer(response) {
    var data = null;
    try { data = await response.json(); } catch (e) { data = null; }
    if (!response.ok) {
      var err = new Error((data && data.error) || ('the server answered ' + response.status + ' ' + response.statusText));
      err.fields = (data && data.fields) || [];     // the parameters at fault, named as the form names them
      throw err;
    }
    return data;
  }

  // Mark the form fields an error names (the API names parameters as the form does).
  function mark(fields) {
    Array.prototype.forEach.call(form.querySelectorAll('.invalid'), function (el) {
      el.classList.remove('invalid'); el.removeAttribute('aria-invalid');
    });
    (fields || []).forEach(function (name) {
      var el = form.querySelector('[name="' + name + '"]');
      if (el) { el.classList.add('invalid'); el.setAttribute('aria-invalid', 'true'); }
    });
  }

  function busy(text) {
    mark([]);
    out.setAttribute('data-state', 'busy');
    out.setAttribute('aria-busy', 'true');
    statusBox.textContent = text;
    errorBox.hidden = true;
    $('run').disabled = true;
  }

  function done(state, text) {
    out.setAttribute('data-state', state);
    out.removeAttribute('aria-busy');
    statusBox.textContent = text || '';
    $('run').disabled = false;
  }

  function fail(message) {
    errorBox.textContent = message;
    errorBox.hidden = false;
    report.innerHTML = '';
    $('actions').hidden = true;
    lastResult = null;
    done('error', '');
  }

  async function run(push) {
    var q = query(), v = q.view;
    if (v !== 'plan' && !uploaded && !q.model) { fail('Pick a model (or drop an ONNX file).'); return; }
    if (v === 'plan' && !q.scenario.trim()) { fail('Paste a scenario (YAML).'); return; }
    if (v === 'whatif' && !leverBoxes().some(function (b) { return b.checked; })) {
      fail('Pick at least one lever.'); return;
    }
    var share = null;
    if (!uploaded && (v !== 'plan' || q.scenario.length <= MAX_URL_SCENARIO)) {
      share = '/?' + qs(q);
      if (share !== location.pathname + location.search) {
        history[push ? 'pushState' : 'replaceState'](null, '', share);
      }
    }
    $('hint').hidden = true;
    busy(uploaded ? 'Uploading ' + uploaded.name + ' and reading its graph…' : v === 'whatif'
      ? 'Pricing every lever on the chip (recounting the model for each; lighter models take longest)…'
      : 'Running ' + v + '…');
    var request, jsonLink = null, started = performance.now();
    if (uploaded) {
      var body = new FormData();
      body.append('file', uploaded, uploaded.name);
      var params = Object.assign({}, q, { per_layer: 'true', explain: v === 'count' ? '' : 'true' });
      if (!params.explain) { delete params.explain; }
      delete params.seq_len;
      request = post('/api/upload?' + qs(params), null, body);   // the browser writes the multipart type
    } else if (v === 'plan') {
      var pq = {};
      if (q.chip) { pq.chip = q.chip; }
      if (q.rank) { pq.rank = 'true'; } else { pq.explain = 'true'; }
      request = post('/api/plan?' + qs(pq), 'application/yaml', q.scenario);
    } else {
      jsonLink = '/api/' + v + '?' + qs(q, ['view']);
      request = fetch('/api/' + v + '?' + qs(Object.assign({}, q, EXTRA[v]), ['view']));
    }
    try {
      var result = await answer(await request);
      var drawn = await answer(await post('/api/render', 'application/json', JSON.stringify(result)));
      report.innerHTML = drawn.html;
      report.setAttribute('data-kind', drawn.kind);
      lastResult = result;
      $('actions').hidden = false;
      $('share').hidden = !share;
      if (share) { $('share').href = share; }
      $('json').hidden = !jsonLink;
      if (jsonLink) { $('json').href = jsonLink; }
      var took = ((performance.now() - started) / 1000).toFixed(2);
      done('done', (uploaded ? uploaded.name + ': read, not kept. ' : '') + drawn.title + ' (' + took + ' s)' +
           (share ? '' : uploaded ? ' Uploaded files have no link: they are not kept.' : ''));
    } catch (e) {
      fail(e.message);
      mark(e.fields);
    }
  }

  // -- the ONNX file ----------------------------------------------------------------------------
  function useFile(file) {
    uploaded = file || null;
    $('file-name').textContent = uploaded ? uploaded.name + ' (' + size(uploaded.size) + ')' : '';
    $('file-clear').hidden = !uploaded;
    $('model').disabled = !!uploaded;
    ['llm', 'plan', 'whatif'].forEach(function (v) {
      form.querySelector('input[name=view][value=' + v + ']').disabled = !!uploaded;
    });
    if (uploaded && ['llm', 'plan', 'whatif'].indexOf(view()) >= 0) { setView('count'); } else { showFields(); }
  }

  function size(bytes) {
    return bytes >= 1048576 ? (bytes / 1048576).toFixed(1) + ' MiB' : bytes >= 1024 ? (bytes / 1024).toFixed(1) + ' KiB'
      : bytes + ' bytes';
  }

  fileInput.addEventListener('change', function () { useFile(fileInput.files[0]); });
  $('file-clear').addEventListener('click', function () { fileInput.value = ''; useFile(null); });
  drop.addEventListener('dragover', function (e) { e.preventDefault(); drop.classList.add('over'); });
  drop.addEventListener('dragleave', function () { drop.classList.remove('over'); });
  drop.addEventListener('drop', function (e) {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files.length) {
      try { fileInput.files = e.dataTransfer.files; } catch (err) { /* older browsers: keep our own copy */ }
      useFile(e.dataTransfer.files[0]);
    }
  });

  // -- the report's hover tips and sortable tables ----------------------------------------------
  var tip = $('tip');
  document.addEventListener('mousemove', function (e) {
    var t = e.target.closest ? e.target.closest('#report [data-tip]') : null;
    if (!t) { tip.style.display = 'none'; return; }
    tip.textContent = t.getAttribute('data-tip');
    tip.style.display = 'block';
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + 'px';
    tip.style.top = (e.clientY + 14) + 'px';
  });
  report.addEventListener('click', function (e) {
    var th = e.target.closest('table.sortable th');
    if (!th) { return; }
    var i = Array.prototype.indexOf.call(th.parentNode.children, th);
    var tbody = th.closest('table').tBodies[0], rows = Array.prototype.slice.call(tbody.rows);
    var dir = th.getAttribute('data-dir') === 'asc' ? -1 : 1;
    th.setAttribute('data-dir', dir === 1 ? 'asc' : 'desc');
    var key = function (r) { var s = r.cells[i].textContent, n = parseFloat(s.replace(/,/g, '')); return isNaN(n) ? s : n; };
    rows.sort(function (a, b) { var x = key(a), y = key(b); return (x > y ? 1 : x < y ? -1 : 0) * dir; });
    rows.forEach(function (r) { tbody.appendChild(r); });
  });

  $('download').addEventListener('click', async function () {
    if (!lastResult) { return; }
    try {
      var page = await answer(await post('/api/render?full=true', 'application/json', JSON.stringify(lastResult)));
      var a = document.createElement('a');
      a.href = URL.createObjectURL(new Blob([page.html], { type: 'text/html' }));
      a.download = 'chipfit-' + page.kind + '.html';
      document.body.appendChild(a);
      a.click();
      setTimeout(function () { URL.revokeObjectURL(a.href); a.remove(); }, 1000);
    } catch (e) { fail(e.message); }
  });

  // -- start: the pickers, then the query in the address ----------------------------------------
  form.addEventListener('submit', function (e) { e.preventDefault(); run(true); });
  form.querySelectorAll('input[name=view]').forEach(function (r) { r.addEventListener('change', showFields); });
  $('precision').addEventListener('change', function () { precisionTouched = true; });
  window.addEventListener('popstate', function () { fromAddress(); });

  function fromAddress() {
    var p = new URLSearchParams(location.search);
    if (!p.has('view')) { return false; }
    var v = p.get('view');
    if (!FIELDS[v]) { return false; }
    if (uploaded) { fileInput.value = ''; useFile(null); }
    setView(v);
    precisionTouched = p.has('precision');
    if (v === 'whatif') {        // every lever and the default settings, unless the address names others
      setLevers(p.get('levers'));
      ['batches', 'precisions', 'scales', 'prune_ratios'].forEach(function (k) { setValue(k, p.get(k) || ''); });
      if (p.get('to_precision')) { setValue('precisions', p.get('to_precision')); }  // an address made before the rename
      $('more').open = ['batches', 'to_precision', 'scales', 'prune_ratios'].some(function (k) { return p.get(k); });
    }
    p.forEach(function (val, key) {
      if (key === 'scenario') { $('scenario').value = val; } else if (key !== 'view') { setValue(key, val); }
    });
    if ((v === 'plan' && p.get('scenario')) || (v !== 'plan' && p.get('model'))) { run(false); return true; }
    return false;
  }

  async function init() {
    $('scenario').value = SAMPLE;
    try {
      var both = await Promise.all([fetch('/api/models').then(answer), fetch('/api/chips').then(answer)]);
      var list = $('model-list');
      both[0].models.forEach(function (m) {
        var o = document.createElement('option');
        o.value = m.name;
        o.label = m.task + (m.description ? ': ' + m.description : '');
        list.appendChild(o);
      });
      $('model-count').textContent = String(both[0].models.length);
      var chip = $('chip'), groups = {};
      var none = document.createElement('option');
      none.value = '';
      none.textContent = "the scenario's own chip";
      chip.appendChild(none);
      both[1].chips.forEach(function (c) {
        if (!groups[c.category]) {
          groups[c.category] = document.createElement('optgroup');
          groups[c.category].label = c.category;
          chip.appendChild(groups[c.category]);
        }
        var o = document.createElement('option');
        o.value = c.id;
        o.textContent = c.id + ' (' + c.name + ')';
        groups[c.category].appendChild(o);
      });
      setValue('chip', 'jetson-orin-nano-8gb');
      setValue('model', 'resnet18');
    } catch (e) {
      fail('Could not load the model and chip lists: ' + e.message);
    }
    showFields();
    fromAddress();
    document.body.setAttribute('data-ready', '1');
  }

  init();
})();
