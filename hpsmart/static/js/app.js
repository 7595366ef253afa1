// hpsmart: small progressive enhancements; every page works without this file.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.htmx) return;
  // A history restore gets the full page from the server, never a fragment.
  htmx.config.historyRestoreAsHxRequest = false;
  // Validation errors come back as 422 with the form re-rendered: swap them in.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "422", swap: true },
    { code: "[45]..", swap: false, error: true },
  ];
});

// Report view (hpsmart/report): a stale form answers 409 with the panel showing what changed
// since; swap it in like a 422 instead of dropping it.
document.addEventListener("DOMContentLoaded", function () {
  if (!window.htmx) return;
  htmx.config.responseHandling.unshift({ code: "409", swap: true });
});

// A failed htmx request that swaps nothing (4xx other than 409/422, 5xx, no network) must
// not look like nothing happened: say so in the #request-error box of base.html, whose
// messages the server wrote in the page's language. The server marks a page whose CSRF
// token is stale ("X-Error-Kind: expired"); an expired session never gets here
// (HX-Redirect to the login page). Nothing of the page is replaced, so what was typed
// stays where it was.
(function () {
  "use strict";
  function box() { return document.getElementById("request-error"); }

  function message(el, kind, status) {
    return el.getAttribute("data-msg-" + kind) || (status >= 500 ? el.getAttribute("data-msg-5xx") : "")
      || el.getAttribute("data-msg-other") || "";
  }

  function show(kind, status) {
    var el = box();
    if (!el) return;
    el.hidden = false;
    el.dataset.kind = kind;
    el.querySelector(".request-error-reload").hidden = !(kind === "expired" || kind === "409");
    // Set the text after the box is shown, so that screen readers announce the alert.
    el.querySelector(".request-error-text").textContent = message(el, kind, status);
  }

  function hide() {
    var el = box();
    if (!el) return;
    el.hidden = true;
    el.querySelector(".request-error-text").textContent = "";
  }

  document.addEventListener("htmx:responseError", function (event) {
    var xhr = event.detail.xhr;
    show((xhr.getResponseHeader("X-Error-Kind") || String(xhr.status)).toLowerCase(), xhr.status);
  });
  document.addEventListener("htmx:sendError", function () { show("network", 0); });
  document.addEventListener("htmx:timeout", function () { show("network", 0); });
  document.addEventListener("htmx:afterRequest", function (event) {
    var el = box();
    // A later request that worked ends a passing trouble; an expired page stays expired.
    if (event.detail.successful && el && !el.hidden && el.dataset.kind !== "expired") hide();
  });
  document.addEventListener("click", function (event) {
    if (event.target.closest(".request-error-close")) hide();
    if (event.target.closest(".request-error-reload")) window.location.reload();
  });
})();

// Keyboard shortcuts for staff (the list of keys is base.html's #shortcuts dialog, with
// what each key goes to): j/k choose a report in the inbox list, Enter opens it beside the
// list (the chosen row's "Preview" button has the focus), "?" shows the list; an action key
// moves the focus to that action's form in the open report, where Enter confirms.
(function () {
  "use strict";
  var current = -1;

  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll("#report-list tbody tr"), function (tr) {
      return tr.querySelector("td.code");
    });
  }

  function visible(el) { return el && el.offsetParent !== null; }

  function choose(step) {
    var list = rows();
    if (!list.length) return;
    var before = list.indexOf(document.querySelector("#report-list tr.kb-current"));
    current = before < 0 ? (step > 0 ? 0 : list.length - 1) : Math.min(list.length - 1, Math.max(0, before + step));
    list.forEach(function (tr, i) { tr.classList.toggle("kb-current", i === current); });
    var row = list[current];
    var target = row.querySelector("button.preview");
    if (!visible(target)) target = row.querySelector("td.code a");
    if (target) {
      target.focus();
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function openPanel() {
    var side = document.querySelector("#inbox-side .report-panel:not(.report-panel-empty)");
    return side || document.querySelector(".report-panel:not(.report-panel-empty)");
  }

  function goTo(selector) {
    var scope = selector.charAt(0) === "#" ? document : openPanel();
    var target = scope && scope.querySelector(selector);
    if (!target) return false;
    if (target.tagName === "DETAILS") target.open = true;
    var fields = target.matches("input, select, textarea, button") ? [target]
      : target.querySelectorAll("select, textarea, input:not([type=hidden]), button[type=submit], button:not([type])");
    var field = Array.prototype.filter.call(fields, visible)[0];
    if (!field) return false;
    field.focus();
    field.scrollIntoView({ block: "center" });
    return true;
  }

  function typing(el) {
    if (!el || !el.closest) return false;
    if (el.closest("textarea, select, [contenteditable=''], [contenteditable=true]")) return true;
    return el.tagName === "INPUT" && ["checkbox", "radio", "button", "submit", "reset"].indexOf(el.type) < 0;
  }

  document.addEventListener("keydown", function (event) {
    var dialog = document.getElementById("shortcuts");
    if (!dialog || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return;
    if (dialog.open || typing(event.target)) return;
    var key = event.key;
    if (key === "?") {
      event.preventDefault();
      dialog.showModal();
      return;
    }
    if (key === "j" || key === "k") {
      if (!rows().length) return;
      event.preventDefault();
      choose(key === "j" ? 1 : -1);
      return;
    }
    var entry = Array.prototype.filter.call(dialog.querySelectorAll("[data-key][data-target]"), function (el) {
      return el.dataset.key === key;
    })[0];
    if (entry && goTo(entry.dataset.target)) event.preventDefault();
  });

  document.addEventListener("click", function (event) {
    if (event.target.closest(".shortcuts-open")) document.getElementById("shortcuts").showModal();
  });
  document.addEventListener("DOMContentLoaded", function () {
    var open = document.querySelector(".shortcuts-open");
    if (open && document.getElementById("shortcuts")) open.hidden = false;
  });
})();

// The inbox's status filter is a <details> drop-down: like a <select>, it closes on a
// click elsewhere and on Escape (which gives the focus back to its summary), instead of
// staying open over the first rows of the list.
(function () {
  "use strict";
  function openMenus() { return document.querySelectorAll(".filters .multi details[open]"); }
  document.addEventListener("click", function (event) {
    Array.prototype.forEach.call(openMenus(), function (menu) {
      if (!menu.contains(event.target)) menu.open = false;
    });
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    Array.prototype.forEach.call(openMenus(), function (menu) {
      menu.open = false;
      var summary = menu.querySelector("summary");
      if (summary && menu.contains(document.activeElement)) summary.focus();
    });
  });
})();

// The report opened beside the inbox list closes with its × button (or Escape when the
// focus is in it): the panel is emptied (its presence poll stops with it) and the focus
// goes back to the row it was opened from.
(function () {
  "use strict";
  function close(panel) {
    var side = panel.closest("#inbox-side");
    if (!side) return;
    var code = panel.getAttribute("data-tracking-code");
    var empty = document.createElement("div");
    empty.className = "report-panel report-panel-empty";
    panel.replaceWith(empty);
    var rows = Array.prototype.filter.call(document.querySelectorAll("#report-list tbody tr"), function (tr) {
      return tr.querySelector("td.code a");
    });
    // Back to the report's row; when it has left the list (routed out of a filtered
    // list, say), to the list's first row.
    var row = rows.filter(function (tr) { return tr.querySelector("td.code a").textContent.trim() === code; })[0]
      || rows[0];
    if (!row) return;
    var target = row.querySelector("button.preview");
    (target && target.offsetParent !== null ? target : row.querySelector("td.code a")).focus();
    row.scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("click", function (event) {
    var button = event.target.closest(".rp-close");
    if (button) close(button.closest(".report-panel"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.defaultPrevented) return;
    var panel = event.target.closest && event.target.closest("#inbox-side .report-panel");
    if (panel && !event.target.closest("textarea, input, select")) close(panel);
  });
})();
