// simplebb's live pages: with JS on, listens to the master's events and refreshes the page's main region when
// something it shows may have changed. Without JS the pages are whole; this only saves a reload.
(function () {
  'use strict';
  if (typeof EventSource !== 'function' || typeof fetch !== 'function' || typeof DOMParser !== 'function') return;
  var badge = document.getElementById('live');
  // A line anchor (#L120) in a long log: the browser may scroll before the blocks above it are laid out; once
  // they are (the next frame), the line is brought on screen again.
  var target = /^#L\d+$/.test(location.hash) ? document.getElementById(location.hash.slice(1)) : null;
  if (target) {
    target.scrollIntoView({ block: 'center' });
    requestAnimationFrame(function () { requestAnimationFrame(function () { target.scrollIntoView({ block: 'center' }); }); });
  }
  // A running build's page follows its log: lines rendered by the server, appended as they are printed; then its verdict.
  var follow = document.getElementById('follow');
  if (follow && follow.getAttribute('data-lines')) { followLog(follow); return; }
  // A build page shows a finished report: nothing that arrives changes it.
  if (/^\/b\//.test(location.pathname)) return;
  var RELEVANT = ['report', 'suggestion', 'started', 'builder-up', 'builder-down', 'reset'];
  var timer = null;
  var busy = false;
  var again = false;

  function refresh() {
    if (busy) { again = true; return; }
    busy = true;
    fetch(location.href, { headers: { accept: 'text/html' }, credentials: 'same-origin', cache: 'no-store' })
      .then(function (res) { return res.ok ? res.text() : null; })
      .then(function (text) {
        if (text === null) return;
        var fresh = new DOMParser().parseFromString(text, 'text/html').getElementById('main');
        var main = document.getElementById('main');
        // Not while the reader is typing in a filter: their input would be lost.
        if (fresh && main && !main.contains(document.activeElement && document.activeElement.form ? document.activeElement : null)) main.replaceWith(fresh);
      })
      .catch(function () {})
      .then(function () {
        busy = false;
        if (again) { again = false; soon(); }
      });
  }

  function soon() {
    if (timer !== null) return;
    timer = setTimeout(function () { timer = null; refresh(); }, 300);
  }

  function followLog(el) {
    var view = document.querySelector('.logview');
    if (!view) return;
    var block = Number(view.getAttribute('data-block')) || 1000;
    var hint = el.querySelector('.follow-live');
    if (hint) hint.hidden = false;
    var lines = new EventSource(el.getAttribute('data-lines'));
    lines.addEventListener('lines', function (e) {
      var html = JSON.parse(e.data).html;
      var root = document.documentElement;
      var atEnd = window.innerHeight + window.scrollY >= root.scrollHeight - 48;
      // The line the page showed unfinished comes again, whole.
      view.querySelectorAll('.partial').forEach(function (p) { p.remove(); });
      var pre = view.lastElementChild;
      if (!pre || pre.tagName !== 'PRE' || pre.childElementCount >= block) {
        pre = document.createElement('pre');
        pre.className = 'log';
        view.appendChild(pre);
      }
      pre.insertAdjacentHTML('beforeend', html);
      if (atEnd) window.scrollTo(0, root.scrollHeight);
    });
    lines.addEventListener('end', function (e) {
      lines.close();
      var facts = JSON.parse(e.data).html;
      var old = document.getElementById('facts');
      if (old && facts) old.outerHTML = facts;
      el.textContent = JSON.parse(e.data).gone ? 'Its builder went away during the build; its report will say how it ended.' : 'The build has ended.';
      if (badge) badge.hidden = true;
    });
    lines.onopen = function () { if (badge) badge.hidden = false; };
    lines.onerror = function () { if (badge) badge.hidden = true; };
  }

  var source = new EventSource('/api/v1/events');
  RELEVANT.forEach(function (type) { source.addEventListener(type, soon); });
  source.onopen = function () { if (badge) badge.hidden = false; };
  source.onerror = function () { if (badge) badge.hidden = true; };
})();
