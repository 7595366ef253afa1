// hpsmart: keep what is typed in a form in this browser tab until the server has it.
//
// Forms with data-draft-key (the answer form, the lead's approve and send-back forms,
// the internal note)
// copy their text fields into sessionStorage under "hpsmart:draft:<key>" (the key
// names the form and the report's tracking code) on every change. When the page is
// loaded again (after a reload, a validation error, or logging in again after the
// session expired), the stored values are put back if they were typed after the
// server's copy was last saved (data-draft-updated: milliseconds since 1970, UTC) and
// differ from it; a notice says so and offers to use the server's draft instead.
// The draft version the typing started from (the hidden draft_seen input) is put back
// with them: if someone else saved the draft meanwhile, saving is then refused with
// both texts shown, never a silent overwrite of theirs.
// Every page works without this file: the server keeps drafts too.
(function () {
  "use strict";
  var PREFIX = "hpsmart:draft:";
  var SELECTOR = "textarea[name], input[name]:not([type]), input[type=text][name], input[type=date][name], select[name]";

  function storage() {
    try { return window.sessionStorage; } catch (e) { return null; }
  }

  function fields(form) {
    return Array.prototype.filter.call(form.querySelectorAll(SELECTOR), function (el) {
      return el.type !== "hidden" && el.type !== "file";
    });
  }

  function seenInput(form) {
    return form.querySelector("input[name=draft_seen]");
  }

  function snapshot(form) {
    var values = {};
    fields(form).forEach(function (el) { values[el.name] = el.value; });
    return values;
  }

  function setup(form) {
    var store = storage();
    if (!store || form.dataset.draftReady) return;
    form.dataset.draftReady = "1";
    var key = PREFIX + form.dataset.draftKey;
    var serverValues = snapshot(form);
    var serverSeen = seenInput(form) ? seenInput(form).value : null;
    var serverUpdated = parseInt(form.dataset.draftUpdated || "0", 10) || 0;
    var saved = null;
    try { saved = JSON.parse(store.getItem(key) || "null"); } catch (e) { saved = null; }
    if (saved && saved.values && saved.at > serverUpdated) {
      var restored = false;
      fields(form).forEach(function (el) {
        var value = saved.values[el.name];
        if (typeof value === "string" && value !== "" && value !== el.value) {
          el.value = value;
          restored = true;
        }
      });
      if (restored && typeof saved.seen === "string" && seenInput(form)) seenInput(form).value = saved.seen;
      var notice = form.querySelector(".draft-restored");
      if (restored && notice) {
        notice.hidden = false;
        var discard = notice.querySelector(".draft-discard");
        if (discard) {
          discard.addEventListener("click", function () {
            fields(form).forEach(function (el) {
              if (Object.prototype.hasOwnProperty.call(serverValues, el.name)) el.value = serverValues[el.name];
            });
            if (serverSeen !== null && seenInput(form)) seenInput(form).value = serverSeen;
            store.removeItem(key);
            notice.hidden = true;
          });
        }
      }
    }
    function remember() {
      var seen = seenInput(form);
      var entry = { at: Date.now(), values: snapshot(form), seen: seen ? seen.value : null };
      try { store.setItem(key, JSON.stringify(entry)); } catch (e) { /* full */ }
    }
    form.addEventListener("input", remember);
    form.addEventListener("change", remember);
    // The server has it: forget the copy (an expired session or an error keeps it).
    form.addEventListener("htmx:afterRequest", function (event) {
      if (event.detail && event.detail.successful && event.detail.elt === form) store.removeItem(key);
    });
  }

  function scan(root) {
    if (!root || !root.querySelectorAll) return;
    if (root.matches && root.matches("form[data-draft-key]")) setup(root);
    root.querySelectorAll("form[data-draft-key]").forEach(setup);
  }

  document.addEventListener("DOMContentLoaded", function () { scan(document); });
  // Content swapped in by htmx (the answer panel inside the report view).
  document.addEventListener("htmx:load", function (event) { scan(event.detail && event.detail.elt); });
})();
