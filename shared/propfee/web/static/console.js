/* The staff console's session: the ID token of the sign-in kept in sessionStorage (this tab only, gone when it
   closes) and sent as "Authorization: Bearer" on every htmx request, which is what the HTTP API's JWT authorizer
   reads. No inline script anywhere: the page's CSP allows only this file and htmx. */
(function () {
  "use strict";
  var KEY = "propfee.console.token";

  function stored() {
    try { return window.sessionStorage.getItem(KEY); } catch (e) { return null; }
  }

  function forget() {
    try { window.sessionStorage.removeItem(KEY); } catch (e) { /* storage refused: nothing kept */ }
  }

  function toSignIn() {
    var lang = document.documentElement.lang || "zh-CN";
    window.location.replace("/console/sign-in?lang=" + encodeURIComponent(lang));
  }

  document.addEventListener("DOMContentLoaded", function () {
    var session = document.getElementById("session");
    if (session) {
      window.sessionStorage.setItem(KEY, session.getAttribute("data-token"));
      var next = session.getAttribute("data-next") || "/console";
      session.parentNode.removeChild(session);
      window.location.replace(next);
      return;
    }
    if (document.getElementById("shell") && !stored()) { toSignIn(); }
  });

  var PUBLIC = /^\/console(\/sign-in)?(\?|$)/;

  document.addEventListener("htmx:configRequest", function (event) {
    var token = stored();
    if (token) {
      event.detail.headers["Authorization"] = "Bearer " + token;
    } else if (!PUBLIC.test(event.detail.path)) {
      event.preventDefault();  // no token: the authorizer would refuse it, sign in first
      toSignIn();
    }
  });

  // an expired or refused token: sign in again; a 4xx page of ours (403, 409, 400) is shown as it came
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 401) { forget(); toSignIn(); return; }
    if (status >= 400 && status < 500) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-sign-out]") : null;
    if (link) { forget(); }
  });
})();
