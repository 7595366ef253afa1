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
