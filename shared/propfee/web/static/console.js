/* The staff console's session: the ID token of the sign-in kept in sessionStorage (this tab only, gone when it
   closes) and sent as "Authorization: Bearer" on every htmx request, which is what the HTTP API's JWT authorizer
   reads. Before its hour is up (or when a request comes back 401) the next one is asked of
   POST /console/session/refresh, which reads the refresh token from a cookie this script cannot see (HttpOnly).
   No inline script anywhere: the page's CSP allows only this file and htmx. */
(function () {
  "use strict";
  var KEY = "propfee.console.token";
  var UNTIL = "propfee.console.until";  // when the token expires, ms since the epoch (this browser's clock)
  var EARLY = 5 * 60 * 1000;  // refreshed five minutes before

  function stored() {
    try { return window.sessionStorage.getItem(KEY); } catch (e) { return null; }
  }

  function keep(token, expiresIn) {
    window.sessionStorage.setItem(KEY, token);
    window.sessionStorage.setItem(UNTIL, String(Date.now() + Number(expiresIn || 3600) * 1000));
  }

  function forget() {
    try { window.sessionStorage.removeItem(KEY); window.sessionStorage.removeItem(UNTIL); } catch (e) { /* none */ }
  }

  function toSignIn() {
    var lang = document.documentElement.lang || "zh-CN";
    window.location.replace("/console/sign-in?lang=" + encodeURIComponent(lang));
  }

  var refreshing = null;
  var retriedAt = 0;
  function refresh() {  // a promise of true (a new token kept) or false (sign in again)
    if (!refreshing) {
      refreshing = fetch("/console/session/refresh", {
        method: "POST", credentials: "same-origin", headers: {"X-Propfee-Refresh": "1"}
      }).then(function (response) {
        if (!response.ok) { return false; }
        return response.json().then(function (answer) { keep(answer.token, answer.expires_in); return true; });
      }).catch(function () { return false; }).then(function (done) { refreshing = null; return done; });
    }
    return refreshing;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var session = document.getElementById("session");
    if (session) {
      keep(session.getAttribute("data-token"), session.getAttribute("data-expires-in"));
      var next = session.getAttribute("data-next") || "/console";
      session.parentNode.removeChild(session);
      window.location.replace(next);
      return;
    }
    if (document.getElementById("shell") && !stored()) { toSignIn(); }
    window.setInterval(function () {
      var until = Number(window.sessionStorage.getItem(UNTIL) || 0);
      if (stored() && until && Date.now() > until - EARLY) { refresh(); }
    }, 60 * 1000);
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

  // an expired or refused token: one refresh, then the same request again; else sign in again. A 4xx page of
  // ours (403, 409, 400) is shown as it came
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if (status === 401) {
      event.detail.shouldSwap = false;
      var config = event.detail.requestConfig || {};
      if (Date.now() - retriedAt < 10000) { forget(); toSignIn(); return; }  // refused again just after a refresh
      retriedAt = Date.now();
      refresh().then(function (done) {
        if (!done) { forget(); toSignIn(); return; }
        var again = window.htmx.ajax(config.verb || "get", config.path || "/console/home",
          {source: config.elt, target: "body", swap: "innerHTML"});
        return again;
      });
      return;
    }
    if (status >= 400 && status < 500) { event.detail.shouldSwap = true; event.detail.isError = false; }
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("[data-sign-out]") : null;
    if (link) { forget(); }
  });
})();
