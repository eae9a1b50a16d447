/* privlog auditor dashboard.
 *
 * Plain JavaScript, no libraries, nothing from another origin. The page runs under a strict
 * CSP (script-src 'self', style-src 'self'), so there are no inline scripts, handlers or
 * style attributes: events are bound here and everything is styled through classes.
 * Data from the API (record text is user-derived, even scrubbed) only ever reaches the DOM
 * through textContent or attribute values, never through innerHTML.
 */
(function () {
  'use strict';

  var TOKEN_KEY = 'privlog.audit.token';
  var PAGE_SIZE = 50;
  var ACCESS_ENTRIES = 6;
  var TEXT_PREVIEW = 140;
  var SVG_NS = 'http://www.w3.org/2000/svg';
  var ENTITY_RE = /^[A-Z][A-Z0-9_]{0,63}$/;
  var TOKEN_CHARS = /^[\x21-\x7e]+$/;
  var OUTCOMES = ['logged', 'forwarded', 'blocked'];
  var FLAGGED_PAGE = 25;
  // The dashboard's filters that mean something for the register (by discovery time).
  var FLAGGED_SCOPE = ['since', 'until', 'tenant'];
  var FLAGGED_VIEWS = {
    all: { params: {}, total: 'total', noun: 'entries' },
    open: { params: { status: 'open' }, total: 'open', noun: 'open entries' },
    overdue: { params: { overdue: 'true' }, total: 'overdue', noun: 'overdue entries' }
  };

  var state = {
    token: null,
    filters: {},
    generation: 0, // bumped on every reload and sign-out: late answers are dropped
    recordsGeneration: 0,
    cursor: null,
    shown: 0,
    stats: null,
    records: new Map(),
    recordsPending: false,
    loadingMore: false,
    flaggedGeneration: 0,
    flaggedView: 'all',
    flaggedCursor: null,
    flaggedShown: 0,
    flaggedStats: null,
    flaggedEntries: new Map(),
    flaggedPending: false,
    flaggedLoading: false
  };

  function $(id) {
    return document.getElementById(id);
  }

  // --- small DOM helpers ------------------------------------------------------------------

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function svg(tag, attrs, text) {
    var node = document.createElementNS(SVG_NS, tag);
    if (attrs) {
      Object.keys(attrs).forEach(function (name) {
        node.setAttribute(name, String(attrs[name]));
      });
    }
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function show(node, visible) {
    node.hidden = !visible;
  }

  function pad(n) {
    return String(n).padStart(2, '0');
  }

  function fmtTime(iso) {
    if (!iso) return '—';
    var d = new Date(iso);
    if (isNaN(d.getTime())) return String(iso);
    return d.getFullYear() + '-' + pad(d.getMonth() + 1) + '-' + pad(d.getDate()) + ' ' +
      pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds());
  }

  // Today's times without the date (the full ISO timestamp is in the title).
  function fmtShortTime(iso) {
    var full = fmtTime(iso);
    var now = new Date();
    var today = now.getFullYear() + '-' + pad(now.getMonth() + 1) + '-' + pad(now.getDate());
    return full.indexOf(today + ' ') === 0 ? full.slice(11) : full.slice(0, 16);
  }

  function fmtNumber(n) {
    return typeof n === 'number' ? n.toLocaleString('en-US') : '–';
  }

  function timeNode(iso, short) {
    var node = el('time', null, short ? fmtShortTime(iso) : fmtTime(iso));
    if (iso) {
      node.setAttribute('datetime', String(iso));
      node.title = String(iso);
    }
    return node;
  }

  function safeClass(value) {
    return String(value).toLowerCase().replace(/[^a-z0-9_-]/g, '');
  }

  function sumValues(obj) {
    return Object.keys(obj || {}).reduce(function (acc, key) {
      return acc + (Number(obj[key]) || 0);
    }, 0);
  }

  function sortedEntries(obj) {
    return Object.keys(obj || {})
      .map(function (key) { return [key, Number(obj[key]) || 0]; })
      .sort(function (a, b) { return b[1] - a[1] || (a[0] < b[0] ? -1 : 1); });
  }

  // --- the API ----------------------------------------------------------------------------

  function AuthError(message) {
    this.name = 'AuthError';
    this.message = message;
  }
  AuthError.prototype = Object.create(Error.prototype);

  function ApiError(status, message) {
    this.name = 'ApiError';
    this.status = status;
    this.message = message;
  }
  ApiError.prototype = Object.create(Error.prototype);

  function detailText(body) {
    if (!body || body.detail === undefined) return '';
    var detail = body.detail;
    if (typeof detail === 'string') return detail;
    if (Array.isArray(detail)) {
      return detail.map(function (item) {
        var loc = Array.isArray(item.loc) ? item.loc.slice(1).join('.') : '';
        return (loc ? loc + ': ' : '') + (item.msg || 'invalid');
      }).join('; ');
    }
    return JSON.stringify(detail);
  }

  function query(params) {
    var search = new URLSearchParams();
    Object.keys(params || {}).forEach(function (key) {
      var value = params[key];
      if (value !== undefined && value !== null && value !== '') search.set(key, String(value));
    });
    var text = search.toString();
    return text ? '?' + text : '';
  }

  function api(path, params) {
    var headers = { Accept: 'application/json' };
    if (state.token) headers.Authorization = 'Bearer ' + state.token;
    return fetch(path + query(params), {
      method: 'GET',
      headers: headers,
      cache: 'no-store',
      credentials: 'same-origin',
      redirect: 'error'
    }).then(function (resp) {
      return resp.json().catch(function () { return null; }).then(function (body) {
        if (resp.status === 401) {
          throw new AuthError(detailText(body) || 'the token was not accepted');
        }
        if (!resp.ok) {
          throw new ApiError(resp.status, detailText(body) || resp.statusText || 'request failed');
        }
        return body;
      });
    }, function () {
      throw new ApiError(0, 'the server could not be reached');
    });
  }

  function describe(err) {
    if (err instanceof ApiError) {
      return err.status ? 'Request failed (HTTP ' + err.status + '): ' + err.message : err.message;
    }
    return 'Unexpected error: ' + (err && err.message ? err.message : String(err));
  }

  // --- sign in / out ----------------------------------------------------------------------

  function readStoredToken() {
    try {
      return window.sessionStorage.getItem(TOKEN_KEY);
    } catch (e) {
      return null;
    }
  }

  function storeToken(token) {
    try {
      if (token) window.sessionStorage.setItem(TOKEN_KEY, token);
      else window.sessionStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      /* storage disabled: the token lives in memory for this page only */
    }
  }

  function showSignin(message) {
    show($('dashboard'), false);
    show($('session'), false);
    show($('signin'), true);
    var box = $('signin-error');
    box.textContent = message || '';
    show(box, Boolean(message));
    var input = $('token-input');
    input.setAttribute('aria-invalid', message ? 'true' : 'false');
    input.focus();
  }

  function showDashboard() {
    show($('signin'), false);
    show($('signin-error'), false);
    show($('session'), true);
    show($('dashboard'), true);
  }

  function forget() {
    state.token = null;
    state.generation += 1;
    state.recordsGeneration += 1;
    state.flaggedGeneration += 1;
    storeToken(null);
    resetView();
  }

  function signOut() {
    forget();
    $('filter-form').reset();
    state.filters = {};
    $('fc-view').value = 'all';
    state.flaggedView = 'all';
    showSignin('');
  }

  function rejected(err) {
    forget();
    showSignin('The server refused the token (401 Unauthorized: ' + err.message +
      '). Sign in again with a valid auditor token.');
  }

  function onSignin(event) {
    event.preventDefault();
    var input = $('token-input');
    var token = input.value.trim().replace(/^bearer\s+/i, '');
    if (!token) {
      showSignin('Paste a token first.');
      return;
    }
    if (!TOKEN_CHARS.test(token)) {
      showSignin('That is not a token: tokens contain no spaces or special characters.');
      return;
    }
    input.value = '';
    state.token = token;
    storeToken(token);
    showDashboard();
    loadAll();
  }

  // --- loading ----------------------------------------------------------------------------

  function resetView() {
    clear($('records-body'));
    state.records.clear();
    state.cursor = null;
    state.shown = 0;
    state.stats = null;
    show($('more'), false);
    show($('records-empty'), false);
    show($('dash-error'), false);
    $('records-status').textContent = '';
    ['chart-days', 'chart-entities', 'chart-outcomes', 'chart-egress'].forEach(function (id) {
      var node = $(id);
      clear(node);
      node.dataset.drawn = 'false';
    });
    ['t-records', 't-entities', 't-blocked', 't-egress', 't-drops', 't-rescan'].forEach(
      function (id) { $(id).textContent = '–'; }
    );
    setBadge($('chain-badge'), 'pending', 'checking…');
    setBadge($('access-badge'), 'pending', 'checking…');
    clear($('chain-status'));
    clear($('access-status'));
    resetFlaggedTable();
    state.flaggedStats = null;
    $('flagged-status').textContent = '';
    clear($('flagged-alert'));
    ['fc-open', 'fc-overdue', 'fc-remediated', 'fc-regenerated'].forEach(function (id) {
      $(id).textContent = '–';
      $(id).classList.remove('tile-alert');
    });
  }

  function guard(generation, fn) {
    return function (value) {
      if (generation !== state.generation) return undefined;
      return fn(value);
    };
  }

  function failed(generation, where) {
    return function (err) {
      if (generation !== state.generation) return;
      if (err instanceof AuthError) {
        rejected(err);
        return;
      }
      if (where) {
        clear(where);
        where.appendChild(el('p', 'alert alert-error', describe(err)));
      } else {
        var box = $('dash-error');
        box.textContent = describe(err);
        show(box, true);
      }
    };
  }

  function loadAll() {
    state.generation += 1;
    var generation = state.generation;
    show($('dash-error'), false);
    resetRecords();
    var live = function () { return generation === state.generation && state.token; };
    // The statistics first: a rejected token then costs one request, not four. The access
    // log last, so that it lists the reads this refresh has just made.
    loadStats(generation)
      .then(function () {
        if (!live()) return null;
        return Promise.all([loadRecords(true), loadChain(generation), loadFlagged(generation)]);
      })
      .then(function () {
        if (live()) loadAccessLog(generation);
      });
  }

  function loadStats(generation) {
    ['chart-days', 'chart-entities', 'chart-outcomes', 'chart-egress'].forEach(function (id) {
      $(id).dataset.drawn = 'false';
      $(id).setAttribute('aria-busy', 'true');
    });
    return api('/v1/stats', state.filters)
      .then(guard(generation, function (stats) {
        state.stats = stats;
        renderTotals(stats.totals || {});
        drawCharts();
        updateRecordsStatus();
      }))
      .catch(failed(generation, null));
  }

  function resetRecords() {
    state.recordsGeneration += 1;
    state.recordsPending = true;
    state.cursor = null;
    state.shown = 0;
    state.records.clear();
    clear($('records-body'));
    show($('records-empty'), false);
    show($('more'), false);
    $('records-status').textContent = 'Loading records…';
  }

  function loadRecords(reset) {
    if (reset) resetRecords();
    var generation = state.generation;
    var recordsGeneration = state.recordsGeneration;
    var params = Object.assign({}, state.filters, {
      kind: 'usage',
      order: 'desc',
      limit: PAGE_SIZE,
      cursor: reset ? null : state.cursor
    });
    var table = $('records-table');
    table.setAttribute('aria-busy', 'true');
    state.loadingMore = true;
    $('more').disabled = true;
    return api('/v1/records', params)
      .then(function (page) {
        if (generation !== state.generation || recordsGeneration !== state.recordsGeneration) {
          return;
        }
        state.recordsPending = false;
        appendRecords(page.records || []);
        state.cursor = page.next_cursor;
        show($('more'), page.next_cursor !== null && page.next_cursor !== undefined);
        show($('records-empty'), state.shown === 0);
        updateRecordsStatus();
      })
      .catch(function (err) {
        if (recordsGeneration !== state.recordsGeneration) return;
        $('records-status').textContent = '';
        failed(generation, null)(err);
      })
      .then(function () {
        table.removeAttribute('aria-busy');
        state.loadingMore = false;
        $('more').disabled = false;
      });
  }

  function loadChain(generation) {
    return api('/v1/chain/verify')
      .then(guard(generation, renderChain))
      .catch(function (err) {
        if (generation === state.generation && !(err instanceof AuthError)) {
          setBadge($('chain-badge'), 'unknown', 'unavailable');
        }
        failed(generation, $('chain-status'))(err);
      });
  }

  function loadAccessLog(generation) {
    return Promise.all([
      api('/v1/access-log/verify'),
      api('/v1/access-log', { limit: ACCESS_ENTRIES })
    ])
      .then(guard(generation, function (both) {
        renderAccessLog(both[0], both[1].entries || []);
      }))
      .catch(function (err) {
        if (generation === state.generation && !(err instanceof AuthError)) {
          setBadge($('access-badge'), 'unknown', 'unavailable');
        }
        failed(generation, $('access-status'))(err);
      });
  }

  // --- flagged content --------------------------------------------------------------------

  function flaggedFilters() {
    var params = {};
    FLAGGED_SCOPE.forEach(function (name) {
      if (state.filters[name]) params[name] = state.filters[name];
    });
    return params;
  }

  function loadFlagged(generation) {
    clear($('flagged-alert'));
    return Promise.all([loadFlaggedStats(generation), loadFlaggedEntries(true)]);
  }

  function loadFlaggedStats(generation) {
    return api('/v1/flagged/stats', flaggedFilters())
      .then(guard(generation, function (counts) {
        state.flaggedStats = counts;
        renderFlaggedCounts(counts);
        updateFlaggedStatus();
      }))
      .catch(failed(generation, $('flagged-alert')));
  }

  function resetFlaggedTable() {
    state.flaggedCursor = null;
    state.flaggedShown = 0;
    state.flaggedEntries.clear();
    clear($('flagged-body'));
    show($('flagged-empty'), false);
    show($('flagged-more'), false);
  }

  function loadFlaggedEntries(reset) {
    if (reset) {
      state.flaggedGeneration += 1;
      state.flaggedPending = true;
      resetFlaggedTable();
      $('flagged-status').textContent = 'Loading flagged content…';
    }
    var generation = state.generation;
    var flaggedGeneration = state.flaggedGeneration;
    var view = FLAGGED_VIEWS[state.flaggedView] || FLAGGED_VIEWS.all;
    var params = Object.assign({}, flaggedFilters(), view.params, {
      limit: FLAGGED_PAGE,
      cursor: reset ? null : state.flaggedCursor
    });
    var table = $('flagged-table');
    table.setAttribute('aria-busy', 'true');
    state.flaggedLoading = true;
    $('flagged-more').disabled = true;
    return api('/v1/flagged', params)
      .then(function (page) {
        if (generation !== state.generation || flaggedGeneration !== state.flaggedGeneration) {
          return;
        }
        state.flaggedPending = false;
        appendFlagged(page.entries || []);
        state.flaggedCursor = page.next_cursor;
        show($('flagged-more'), page.next_cursor !== null && page.next_cursor !== undefined);
        show($('flagged-empty'), state.flaggedShown === 0);
        updateFlaggedStatus();
      })
      .catch(function (err) {
        if (flaggedGeneration !== state.flaggedGeneration) return;
        $('flagged-status').textContent = '';
        failed(generation, $('flagged-alert'))(err);
      })
      .then(function () {
        table.removeAttribute('aria-busy');
        state.flaggedLoading = false;
        $('flagged-more').disabled = false;
      });
  }

  function renderFlaggedCounts(counts) {
    $('fc-open').textContent = fmtNumber(counts.open);
    $('fc-overdue').textContent = fmtNumber(counts.overdue);
    $('fc-remediated').textContent = fmtNumber(counts.remediated);
    $('fc-regenerated').textContent = fmtNumber(counts.regenerated);
    $('fc-overdue').classList.toggle('tile-alert', Number(counts.overdue) > 0);
  }

  function updateFlaggedStatus() {
    if (state.flaggedPending) return;
    var view = FLAGGED_VIEWS[state.flaggedView] || FLAGGED_VIEWS.all;
    var total = state.flaggedStats ? state.flaggedStats[view.total] : null;
    var text = 'Showing ' + fmtNumber(state.flaggedShown);
    if (typeof total === 'number') text += ' of ' + fmtNumber(Math.max(total, state.flaggedShown));
    $('flagged-status').textContent = text + ' ' + view.noun + ', newest first';
  }

  function badge(text, className) {
    var node = el('span', 'badge', text);
    if (className) node.classList.add(className);
    return node;
  }

  function flaggedRow(entry) {
    var tr = el('tr');
    var id = String(entry.id);
    tr.dataset.entryId = id;
    tr.dataset.status = String(entry.status);
    if (entry.overdue) {
      tr.classList.add('overdue');
      tr.dataset.overdue = 'true';
    }

    var when = el('td', 'nowrap');
    when.appendChild(timeNode(entry.discovered_at));
    var details = el('button', 'linklike sub', 'details');
    details.type = 'button';
    details.dataset.entryId = id;
    details.setAttribute('aria-label', 'Show all fields of register entry ' + id);
    when.appendChild(details);
    tr.appendChild(when);

    tr.appendChild(el('td', null, entry.category));

    var rule = el('td', 'mono');
    rule.appendChild(document.createTextNode(String(entry.rule_id || '—')));
    if (entry.related_to) {
      var copy = 'copy of ' + String(entry.related_to).slice(0, 8) + '…';
      if (typeof entry.similarity === 'number') {
        copy += ' (' + Math.round(entry.similarity * 100) + '% similar)';
      }
      var note = el('span', 'sub', copy);
      note.title = String(entry.related_to);
      rule.appendChild(note);
    }
    tr.appendChild(rule);

    tr.appendChild(el('td', null, entry.direction));

    var action = String(entry.action || '');
    var actionCell = el('td');
    actionCell.appendChild(badge(action || '—', action === 'block' || action === 'flag'
      ? 'action-' + action : null));
    tr.appendChild(actionCell);

    var due = el('td', 'nowrap');
    due.appendChild(timeNode(entry.remediation_due));
    tr.appendChild(due);

    var status = el('td', 'status-cell');
    var remediated = entry.status === 'remediated';
    status.appendChild(badge(String(entry.status || '—'), remediated ? 'entry-remediated' : 'entry-open'));
    if (entry.overdue) status.appendChild(badge('overdue', 'badge-overdue'));
    if (remediated && entry.remediated_at) {
      var done = el('span', 'sub');
      done.appendChild(document.createTextNode('on '));
      done.appendChild(timeNode(entry.remediated_at));
      if (entry.remediation_note) done.title = String(entry.remediation_note);
      status.appendChild(done);
    }
    tr.appendChild(status);

    var excerpt = el('td', 'text-cell');
    var text = entry.excerpt === null || entry.excerpt === undefined ? '' : String(entry.excerpt);
    if (!text) {
      excerpt.appendChild(el('span', 'muted', '(no excerpt)'));
    } else {
      var clipped = text.length > TEXT_PREVIEW ? text.slice(0, TEXT_PREVIEW - 1) + '…' : text;
      var span = el('span', 'scrubbed excerpt', clipped);
      span.title = text;
      excerpt.appendChild(span);
    }
    tr.appendChild(excerpt);
    return tr;
  }

  function appendFlagged(entries) {
    var fragment = document.createDocumentFragment();
    entries.forEach(function (entry) {
      state.flaggedEntries.set(String(entry.id), entry);
      fragment.appendChild(flaggedRow(entry));
    });
    $('flagged-body').appendChild(fragment);
    state.flaggedShown += entries.length;
  }

  function onFlaggedClick(event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest('button[data-entry-id]');
    if (!button) return;
    var entry = state.flaggedEntries.get(button.dataset.entryId);
    if (entry) openFields('Register entry ' + entry.id, entry);
  }

  function onFlaggedView() {
    var value = $('fc-view').value;
    state.flaggedView = FLAGGED_VIEWS[value] ? value : 'all';
    if (state.token) {
      clear($('flagged-alert'));
      loadFlaggedEntries(true);
    }
  }

  // --- filters ----------------------------------------------------------------------------

  function readFilters() {
    var form = $('filter-form');
    var filters = {};
    var problems = [];
    [['since', 'From'], ['until', 'Until']].forEach(function (pair) {
      var value = form.elements[pair[0]].value;
      if (!value) return;
      var moment = new Date(value);
      if (isNaN(moment.getTime())) problems.push(pair[1] + ' is not a valid date and time.');
      else filters[pair[0]] = moment.toISOString();
    });
    if (filters.since && filters.until && filters.since >= filters.until) {
      problems.push('"Until" must be later than "From".');
    }
    ['route', 'tenant'].forEach(function (name) {
      var value = form.elements[name].value.trim();
      if (value) filters[name] = value;
    });
    var entity = form.elements.entity.value.trim().toUpperCase();
    if (entity) {
      if (ENTITY_RE.test(entity)) filters.entity = entity;
      else problems.push('An entity type looks like EMAIL_ADDRESS: capitals, digits and "_".');
    }
    ['outcome', 'flag'].forEach(function (name) {
      var value = form.elements[name].value;
      if (value) filters[name] = value;
    });
    return { filters: filters, problems: problems };
  }

  function applyFilters(event) {
    if (event) event.preventDefault();
    var read = readFilters();
    var box = $('filter-error');
    box.textContent = read.problems.join(' ');
    show(box, read.problems.length > 0);
    if (read.problems.length) return;
    state.filters = read.filters;
    loadAll();
  }

  function clearFilters() {
    $('filter-form').reset();
    show($('filter-error'), false);
    state.filters = {};
    loadAll();
  }

  // --- totals, chain and access log ---------------------------------------------------------

  function renderTotals(totals) {
    $('t-records').textContent = fmtNumber(totals.records);
    $('t-entities').textContent = fmtNumber(sumValues(totals.entities));
    $('t-blocked').textContent = fmtNumber((totals.outcomes && totals.outcomes.blocked) || 0);
    $('t-egress').textContent = fmtNumber(sumValues(totals.egress));
    $('t-drops').textContent = fmtNumber(totals.drops);
    $('t-rescan').textContent = fmtNumber(totals.rescan_hits);
    $('t-drops').classList.toggle('tile-alert', Number(totals.drops) > 0);
    $('t-rescan').classList.toggle('tile-alert', Number(totals.rescan_hits) > 0);
    var list = $('entity-types');
    clear(list);
    Object.keys(totals.entities || {}).sort().forEach(function (name) {
      var option = document.createElement('option');
      option.value = name;
      list.appendChild(option);
    });
  }

  function setBadge(node, kind, text) {
    node.className = 'status status-' + kind;
    node.textContent = text;
  }

  function fieldList(pairs) {
    var dl = el('dl', 'facts');
    pairs.forEach(function (pair) {
      if (!pair) return;
      dl.appendChild(el('dt', null, pair[0]));
      var dd = el('dd');
      if (pair[1] instanceof Node) dd.appendChild(pair[1]);
      else dd.textContent = pair[1] === null || pair[1] === undefined ? '—' : String(pair[1]);
      if (pair[2]) dd.className = pair[2];
      dl.appendChild(dd);
    });
    return dl;
  }

  function shortHex(value) {
    if (!value) return '—';
    var text = String(value);
    var node = el('code', null, text.length > 20 ? text.slice(0, 16) + '…' : text);
    node.title = text;
    return node;
  }

  function renderChain(report) {
    var box = $('chain-status');
    clear(box);
    var records = Number(report.records) || 0;
    if (report.ok && records === 0) setBadge($('chain-badge'), 'neutral', 'empty');
    else if (report.ok) setBadge($('chain-badge'), 'ok', 'ok · intact');
    else setBadge($('chain-badge'), 'bad', 'broken');
    box.dataset.ok = report.ok ? 'true' : 'false';

    var summary = el('p', 'panel-summary');
    summary.textContent = report.ok
      ? 'Every entry links to the one before it and matches its hash; checkpoint signatures verify.'
      : 'The chain does not verify: records may have been edited, removed or reordered.';
    box.appendChild(summary);

    if (report.problem) {
      var problem = el('div', 'alert alert-error');
      problem.appendChild(el('strong', null, 'Problem at seq ' + report.problem.seq + ': '));
      problem.appendChild(document.createTextNode(String(report.problem.reason)));
      box.appendChild(problem);
    }

    var range = records
      ? String(report.first_seq) + ' – ' + String(report.last_seq)
      : '—';
    var cp = report.last_checkpoint;
    var checkpoint = null;
    if (cp) {
      checkpoint = el('span');
      checkpoint.appendChild(document.createTextNode('seq ' + cp.seq + ', '));
      checkpoint.appendChild(timeNode(cp.ts));
      checkpoint.appendChild(document.createTextNode(', key '));
      checkpoint.appendChild(el('code', null, cp.key_id));
    }
    box.appendChild(fieldList([
      ['Status', report.ok ? 'ok' : 'broken', report.ok ? 'good' : 'bad'],
      ['Entries verified', fmtNumber(records)],
      ['Sequence range', range],
      ['Checkpoints', fmtNumber(Number(report.checkpoints) || 0)],
      ['Trusted keys', report.keys],
      ['Last checkpoint', checkpoint || 'none yet'],
      cp ? ['Checkpoint key', shortHex(cp.public_key)] : null
    ]));
  }

  function filtersText(filters) {
    var keys = Object.keys(filters || {}).sort();
    if (!keys.length) return '—';
    return keys.map(function (k) { return k + '=' + filters[k]; }).join(' ');
  }

  function renderAccessLog(verify, entries) {
    var box = $('access-status');
    clear(box);
    if (verify.ok) setBadge($('access-badge'), 'ok', 'ok · intact');
    else setBadge($('access-badge'), 'bad', 'broken');
    box.dataset.ok = verify.ok ? 'true' : 'false';
    box.appendChild(el('p', 'panel-summary',
      fmtNumber(Number(verify.entries) || 0) + ' entries, each chained to the one before: ' +
      (verify.ok ? 'none edited or removed.' : 'the log does not verify.')));
    if (verify.problem) {
      var problem = el('div', 'alert alert-error');
      problem.appendChild(el('strong', null, 'Problem at seq ' + verify.problem.seq + ': '));
      problem.appendChild(document.createTextNode(String(verify.problem.reason)));
      box.appendChild(problem);
    }
    if (!entries.length) {
      box.appendChild(el('p', 'muted', 'No entries yet.'));
      return;
    }
    var wrap = el('div', 'table-wrap');
    var table = el('table', 'mini');
    var caption = el('caption', 'mini-caption', 'Latest requests, newest first');
    table.appendChild(caption);
    var head = el('thead');
    var hr = el('tr');
    ['Time', 'Token', 'Request', 'Status', 'Rows'].forEach(function (name, i) {
      var th = el('th', i >= 3 ? 'num' : null, name);
      th.scope = 'col';
      hr.appendChild(th);
    });
    head.appendChild(hr);
    table.appendChild(head);
    var body = el('tbody');
    entries.forEach(function (entry) {
      var tr = el('tr');
      var td = el('td', 'nowrap');
      td.appendChild(timeNode(entry.ts, true));
      tr.appendChild(td);
      var who = el('td', 'nowrap', entry.token_name || '(none)');
      if (entry.tenant) who.appendChild(el('span', 'sub', 'tenant ' + entry.tenant));
      tr.appendChild(who);
      var request = el('td', 'request');
      request.appendChild(el('span', 'mono', (entry.method ? entry.method + ' ' : '') + entry.route));
      var filters = filtersText(entry.filters);
      if (filters !== '—') {
        var sub = el('span', 'sub mono clip', filters);
        sub.title = filters;
        request.appendChild(sub);
      }
      tr.appendChild(request);
      var status = Number(entry.status);
      tr.appendChild(el('td', 'num ' + (status >= 400 ? 'bad' : ''), entry.status));
      tr.appendChild(el('td', 'num', entry.rows === null ? '—' : entry.rows));
      body.appendChild(tr);
    });
    table.appendChild(body);
    wrap.appendChild(table);
    box.appendChild(wrap);
  }

  // --- records table ------------------------------------------------------------------------

  function previewText(raw) {
    if (raw === null || raw === undefined || raw === '') return null;
    var text = String(raw);
    try {
      var parsed = JSON.parse(text);
      if (parsed && typeof parsed === 'object' && !Array.isArray(parsed)) {
        text = Object.keys(parsed).map(function (key) {
          var value = parsed[key];
          return key + ': ' + (typeof value === 'string' ? value : JSON.stringify(value));
        }).join(' · ');
      } else if (typeof parsed === 'string') {
        text = parsed;
      }
    } catch (e) {
      /* not JSON: shown as stored */
    }
    return text.replace(/\s+/g, ' ').trim();
  }

  function chips(entries, className) {
    var wrap = el('span', 'chips');
    entries.forEach(function (entry) {
      var chip = el('span', 'chip ' + className);
      chip.appendChild(el('span', 'chip-name', entry[0]));
      if (entry[1] !== null) chip.appendChild(el('span', 'chip-count', entry[1]));
      wrap.appendChild(chip);
    });
    return wrap;
  }

  function recordRow(record) {
    var tr = el('tr');
    tr.dataset.seq = String(record.seq);

    var seqCell = el('td', 'num');
    var seqButton = el('button', 'linklike', record.seq);
    seqButton.type = 'button';
    seqButton.dataset.seq = String(record.seq);
    seqButton.setAttribute('aria-label', 'Show all fields of record ' + record.seq);
    seqCell.appendChild(seqButton);
    tr.appendChild(seqCell);

    var time = el('td', 'nowrap');
    time.appendChild(timeNode(record.ts));
    tr.appendChild(time);

    tr.appendChild(el('td', record.tenant ? null : 'muted', record.tenant || '—'));

    var route = el('td', 'mono route');
    if (record.method) route.appendChild(el('span', 'method', record.method));
    route.appendChild(document.createTextNode(record.route || ''));
    if (record.status !== null && record.status !== undefined) {
      route.appendChild(el('span', 'http-status', record.status));
    }
    tr.appendChild(route);

    var outcome = el('td', 'outcome-cell');
    var outcomeName = String(record.outcome || '');
    var badge = el('span', 'badge', outcomeName || '—');
    if (OUTCOMES.indexOf(outcomeName) >= 0) badge.classList.add('outcome-' + outcomeName);
    outcome.appendChild(badge);
    if (Array.isArray(record.egress) && record.egress.length) {
      var egress = el('span', 'egress-note', record.egress.map(function (e) {
        return (e.action || '?') + ' → ' + (e.destination || e.processor || '?');
      }).join(', '));
      outcome.appendChild(egress);
    }
    tr.appendChild(outcome);

    var counts = sortedEntries(record.entity_counts);
    var entities = el('td');
    if (counts.length) entities.appendChild(chips(counts, 'chip-entity'));
    else entities.appendChild(el('span', 'muted', 'none'));
    tr.appendChild(entities);

    var flags = el('td');
    var flagList = Array.isArray(record.flags) ? record.flags : [];
    if (flagList.length) {
      flags.appendChild(chips(flagList.map(function (f) { return [f, null]; }), 'chip-flag'));
    } else {
      flags.appendChild(el('span', 'muted', '—'));
    }
    tr.appendChild(flags);

    var text = previewText(record.text);
    var textCell = el('td', 'text-cell');
    if (text === null) {
      textCell.appendChild(el('span', 'muted', '(no text stored)'));
    } else {
      var clipped = text.length > TEXT_PREVIEW ? text.slice(0, TEXT_PREVIEW - 1) + '…' : text;
      var span = el('span', 'scrubbed', clipped);
      span.title = text.length > 2000 ? text.slice(0, 2000) + '…' : text;
      textCell.appendChild(span);
    }
    tr.appendChild(textCell);
    return tr;
  }

  function appendRecords(records) {
    var body = $('records-body');
    var fragment = document.createDocumentFragment();
    records.forEach(function (record) {
      state.records.set(String(record.seq), record);
      fragment.appendChild(recordRow(record));
    });
    body.appendChild(fragment);
    state.shown += records.length;
  }

  function updateRecordsStatus() {
    var status = $('records-status');
    if (state.recordsPending) return;
    var total = state.stats && state.stats.totals ? state.stats.totals.records : null;
    var text = 'Showing ' + fmtNumber(state.shown);
    if (typeof total === 'number') text += ' of ' + fmtNumber(Math.max(total, state.shown));
    text += ' records, newest first';
    status.textContent = text;
  }

  function onTableClick(event) {
    var target = event.target;
    if (!(target instanceof Element)) return;
    var button = target.closest('button[data-seq]');
    if (!button) return;
    var record = state.records.get(button.dataset.seq);
    if (record) openFields('Record ' + record.seq, record);
  }

  // Every field of a record or a register entry, as text.
  function openFields(title, record) {
    var dialog = $('record-dialog');
    $('record-dialog-title').textContent = title;
    var list = $('record-fields');
    clear(list);
    Object.keys(record).forEach(function (key) {
      var value = record[key];
      list.appendChild(el('dt', null, key));
      var dd = el('dd');
      if (value === null || value === undefined || value === '') {
        dd.appendChild(el('span', 'muted', '—'));
      } else if (key === 'text') {
        var pretty = String(value);
        try {
          pretty = JSON.stringify(JSON.parse(pretty), null, 2);
        } catch (e) { /* shown as stored */ }
        dd.appendChild(el('pre', null, pretty));
      } else if (typeof value === 'object') {
        dd.appendChild(el('pre', null, JSON.stringify(value, null, 2)));
      } else {
        dd.appendChild(el('span', /hash|salt|token|key|print|_id$|^id$/.test(key) ? 'mono' : null, value));
      }
      list.appendChild(dd);
    });
    if (typeof dialog.showModal === 'function') dialog.showModal();
    else dialog.setAttribute('open', '');
  }

  function closeRecord() {
    var dialog = $('record-dialog');
    if (typeof dialog.close === 'function') dialog.close();
    else dialog.removeAttribute('open');
  }

  // --- charts (inline SVG) --------------------------------------------------------------------

  function niceStep(max, ticks) {
    var raw = Math.max(max / ticks, 1);
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i += 1) {
      if (raw <= steps[i] * magnitude) return steps[i] * magnitude;
    }
    return 10 * magnitude;
  }

  var measure = null;

  // Label width at the charts' 12px font (canvas only measures: nothing is drawn or loaded).
  function textWidth(text) {
    if (!measure) {
      measure = document.createElement('canvas').getContext('2d');
      if (measure) measure.font = '12px ' + window.getComputedStyle(document.body).fontFamily;
    }
    return measure ? measure.measureText(String(text)).width : String(text).length * 8;
  }

  function fitText(text, room) {
    var label = String(text);
    if (textWidth(label) <= room) return label;
    while (label.length > 1 && textWidth(label + '…') > room) label = label.slice(0, -1);
    return label + '…';
  }

  function chartWidth(node) {
    return Math.max(Math.floor(node.clientWidth || 0), 260);
  }

  function noData(node, what) {
    var p = el('p', 'no-data', 'no data');
    p.setAttribute('aria-label', 'No data for ' + what);
    node.appendChild(p);
  }

  function finish(node) {
    node.dataset.drawn = 'true';
    node.removeAttribute('aria-busy');
  }

  function fillDays(days) {
    var list = (days || []).map(function (d) { return { day: d.day, records: Number(d.records) || 0 }; });
    if (list.length < 2) return list;
    var first = Date.parse(list[0].day + 'T00:00:00Z');
    var last = Date.parse(list[list.length - 1].day + 'T00:00:00Z');
    var span = Math.round((last - first) / 86400000);
    if (!isFinite(span) || span > 400) return list;
    var byDay = {};
    list.forEach(function (d) { byDay[d.day] = d.records; });
    var filled = [];
    for (var i = 0; i <= span; i += 1) {
      var day = new Date(first + i * 86400000).toISOString().slice(0, 10);
      filled.push({ day: day, records: byDay[day] || 0 });
    }
    return filled;
  }

  function drawDays(node, days) {
    clear(node);
    var series = fillDays(days);
    var total = series.reduce(function (acc, d) { return acc + d.records; }, 0);
    if (!series.length || total === 0) {
      noData(node, 'records per day');
      finish(node);
      return;
    }
    var width = chartWidth(node);
    var height = 220;
    var m = { top: 14, right: 12, bottom: 30, left: 44 };
    var innerW = width - m.left - m.right;
    var innerH = height - m.top - m.bottom;
    var peak = Math.max.apply(null, series.map(function (d) { return d.records; }));
    var step = niceStep(peak, 4);
    var top = Math.ceil(peak / step) * step;
    var root = svg('svg', {
      width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
      role: 'img', class: 'chart-svg',
      'aria-label': 'Records per day: ' + series.map(function (d) {
        return d.day + ' ' + d.records;
      }).join(', ')
    });
    for (var v = 0; v <= top; v += step) {
      var y = m.top + innerH - (v / top) * innerH;
      root.appendChild(svg('line', {
        x1: m.left, x2: width - m.right, y1: y, y2: y, class: v === 0 ? 'axis' : 'grid'
      }));
      root.appendChild(svg('text', {
        x: m.left - 6, y: y + 4, 'text-anchor': 'end', class: 'tick'
      }, fmtNumber(v)));
    }
    var band = innerW / series.length;
    var barW = Math.max(1, Math.min(48, band * 0.72));
    var labelEvery = Math.max(1, Math.ceil(series.length / Math.max(1, Math.floor(innerW / 78))));
    series.forEach(function (d, i) {
      var x = m.left + i * band + (band - barW) / 2;
      var h = (d.records / top) * innerH;
      var rect = svg('rect', {
        x: x.toFixed(2), y: (m.top + innerH - h).toFixed(2),
        width: barW.toFixed(2), height: Math.max(h, d.records ? 1 : 0).toFixed(2),
        class: 'bar bar-primary'
      });
      rect.appendChild(svg('title', null, d.day + ': ' + fmtNumber(d.records) + ' records'));
      root.appendChild(rect);
      if (i % labelEvery === 0) {
        root.appendChild(svg('text', {
          x: (m.left + i * band + band / 2).toFixed(2), y: height - 10,
          'text-anchor': 'middle', class: 'tick'
        }, series.length > 1 ? d.day.slice(5) : d.day));
      }
    });
    node.appendChild(root);
    finish(node);
  }

  function drawHBars(node, entries, what, classFor) {
    clear(node);
    var data = entries.filter(function (e) { return e[1] > 0; });
    if (!data.length) {
      noData(node, what);
      finish(node);
      return;
    }
    var limit = 12;
    if (data.length > limit) {
      var rest = data.slice(limit - 1).reduce(function (acc, e) { return acc + e[1]; }, 0);
      data = data.slice(0, limit - 1).concat([['other (' + (entries.length - limit + 1) + ')', rest]]);
    }
    var width = chartWidth(node);
    var rowH = 26;
    var m = { top: 6, right: 12, bottom: 6 };
    var longest = data.reduce(function (acc, e) { return Math.max(acc, textWidth(e[0])); }, 0);
    var labelW = Math.min(Math.round(width * 0.45), Math.max(60, Math.ceil(longest) + 16));
    var valueW = 44;
    var innerW = Math.max(20, width - labelW - valueW - m.right);
    var height = m.top + m.bottom + data.length * rowH;
    var peak = data[0][1];
    data.forEach(function (e) { peak = Math.max(peak, e[1]); });
    var total = data.reduce(function (acc, e) { return acc + e[1]; }, 0);
    var root = svg('svg', {
      width: width, height: height, viewBox: '0 0 ' + width + ' ' + height,
      role: 'img', class: 'chart-svg',
      'aria-label': what + ': ' + data.map(function (e) { return e[0] + ' ' + e[1]; }).join(', ')
    });
    data.forEach(function (e, i) {
      var y = m.top + i * rowH;
      var label = String(e[0]);
      var labelNode = svg('text', {
        x: labelW - 8, y: y + rowH / 2 + 4, 'text-anchor': 'end', class: 'label'
      }, fitText(label, labelW - 12));
      labelNode.appendChild(svg('title', null, label));
      root.appendChild(labelNode);
      root.appendChild(svg('rect', {
        x: labelW, y: y + 4, width: innerW, height: rowH - 8, class: 'track'
      }));
      var w = Math.max(2, (e[1] / peak) * innerW);
      var rect = svg('rect', {
        x: labelW, y: y + 4, width: w.toFixed(2), height: rowH - 8,
        class: 'bar ' + classFor(label)
      });
      var share = total ? Math.round((e[1] / total) * 100) : 0;
      rect.appendChild(svg('title', null, label + ': ' + fmtNumber(e[1]) + ' (' + share + '%)'));
      root.appendChild(rect);
      root.appendChild(svg('text', {
        x: labelW + innerW + 6, y: y + rowH / 2 + 4, class: 'value'
      }, fmtNumber(e[1])));
    });
    node.appendChild(root);
    finish(node);
  }

  function outcomeClass(name) {
    return OUTCOMES.indexOf(name) >= 0 ? 'bar-outcome-' + name : 'bar-neutral';
  }

  function egressClass(name) {
    var key = safeClass(name);
    if (key.indexOf('block') === 0) return 'bar-bad';
    if (key === 'scrub') return 'bar-warn';
    if (key === 'first_party') return 'bar-good';
    return 'bar-neutral';
  }

  function drawCharts() {
    var stats = state.stats;
    if (!stats) return;
    var totals = stats.totals || {};
    drawDays($('chart-days'), stats.days || []);
    drawHBars($('chart-entities'), sortedEntries(totals.entities), 'Entity types', function () {
      return 'bar-primary';
    });
    var outcomes = sortedEntries(totals.outcomes);
    outcomes.sort(function (a, b) {
      var ia = OUTCOMES.indexOf(a[0]);
      var ib = OUTCOMES.indexOf(b[0]);
      return (ia < 0 ? 99 : ia) - (ib < 0 ? 99 : ib);
    });
    drawHBars($('chart-outcomes'), outcomes, 'Outcomes', outcomeClass);
    drawHBars($('chart-egress'), sortedEntries(totals.egress), 'Egress decisions', egressClass);
  }

  // --- start --------------------------------------------------------------------------------

  function init() {
    var zone = '';
    try {
      zone = Intl.DateTimeFormat().resolvedOptions().timeZone || '';
    } catch (e) { /* no Intl */ }
    $('time-head').textContent = zone ? 'Time (' + zone + ')' : 'Time (local)';

    $('token-form').addEventListener('submit', onSignin);
    $('signout').addEventListener('click', signOut);
    $('refresh').addEventListener('click', function () { loadAll(); });
    $('filter-form').addEventListener('submit', applyFilters);
    $('clear-filters').addEventListener('click', clearFilters);
    ['f-outcome', 'f-flag'].forEach(function (id) {
      $(id).addEventListener('change', function () { applyFilters(null); });
    });
    $('more').addEventListener('click', function () {
      if (!state.loadingMore && state.cursor !== null) loadRecords(false);
    });
    $('records-body').addEventListener('click', onTableClick);
    $('fc-view').addEventListener('change', onFlaggedView);
    $('flagged-more').addEventListener('click', function () {
      if (!state.flaggedLoading && state.flaggedCursor !== null) loadFlaggedEntries(false);
    });
    $('flagged-body').addEventListener('click', onFlaggedClick);
    $('record-dialog-close').addEventListener('click', closeRecord);
    $('record-dialog').addEventListener('click', function (event) {
      if (event.target === event.currentTarget) closeRecord();
    });

    var resizeTimer = null;
    window.addEventListener('resize', function () {
      if (resizeTimer) window.clearTimeout(resizeTimer);
      resizeTimer = window.setTimeout(drawCharts, 150);
    });

    fetch('/healthz', { cache: 'no-store', credentials: 'omit' })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (body) {
        if (body && body.version) $('version').textContent = 'privlog ' + body.version;
      })
      .catch(function () { /* the footer keeps its default */ });

    var stored = readStoredToken();
    if (stored) {
      state.token = stored;
      showDashboard();
      loadAll();
    } else {
      showSignin('');
    }
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
}());
