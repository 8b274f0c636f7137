// simplebb's live pages: with JS on, listens to the master's events and refreshes the page's main region when
// something it shows may have changed. Without JS the pages are whole; this only saves a reload.
(function () {
  'use strict';
  if (typeof EventSource !== 'function' || typeof fetch !== 'function' || typeof DOMParser !== 'function') return;
  // A build page shows a finished report: nothing that arrives changes it.
  if (/^\/b\//.test(location.pathname)) return;
  var RELEVANT = ['report', 'suggestion', 'started', 'builder-up', 'builder-down', 'reset'];
  var badge = document.getElementById('live');
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

  var source = new EventSource('/api/v1/events');
  RELEVANT.forEach(function (type) { source.addEventListener(type, soon); });
  source.onopen = function () { if (badge) badge.hidden = false; };
  source.onerror = function () { if (badge) badge.hidden = true; };
})();
