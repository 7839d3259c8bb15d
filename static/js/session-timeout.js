/* Idle-logout warning. The server is the authority on time left: this script only asks
   (GET /account/session/status never renews the session) and, on "Stay signed in", POSTs /account/session/renew.
   At expiry the page is blanked and replaced by the sign-in page so no PHI stays on screen.
   Tabs share events over BroadcastChannel: signing out or renewing in one tab reaches all.
   Typing is activity: real user input renews the session, at most once a minute (sooner with
   a short idle limit); the polling still never does. Before the session ends, the event
   "clinic:session-ending" lets a form keep its unsaved text on the server (visit-draft.js);
   if it did, the sign-in page leads back to that form. */
(function () {
  "use strict";
  var body = document.body;
  var statusUrl = body.dataset.sessionStatusUrl;
  if (!statusUrl) { return; }
  var renewUrl = body.dataset.sessionRenewUrl;
  var loginUrl = body.dataset.loginUrl;
  var warningSeconds = parseInt(body.dataset.warningSeconds || "60", 10);
  var idleSeconds = parseInt(body.dataset.idleSeconds || "0", 10);
  var renewEveryMs = 1000 * (idleSeconds > 0 ? Math.min(60, Math.max(1, Math.floor(idleSeconds / 4))) : 60);
  var lastRenewal = Date.now();  // loading this page was activity
  var endingAnnounced = false;
  var dialog = document.getElementById("session-warning");
  var countdown = document.getElementById("session-warning-seconds");
  var stay = document.getElementById("session-stay");
  var channel = ("BroadcastChannel" in window) ? new BroadcastChannel("clinic-session") : null;
  var deadline = null;   // local clock time (ms) at which the server says the session ends
  var pollTimer = null;
  var tickTimer = null;

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  function leave(reason) {
    if (channel) { channel.postMessage({ type: "signed-out" }); }
    // A form whose text was kept as a draft is where the user is taken back after signing in
    // (its address carries ids only).
    var back = body.dataset.returnTo;
    var query = "?expired=" + encodeURIComponent(reason || "idle") +
      (back && back.charAt(0) === "/" ? "&next=" + encodeURIComponent(back) : "");
    // Remove PHI from the screen before navigating, and keep the page out of history.
    document.body.textContent = "";
    window.location.replace(loginUrl + query);
  }

  function announceEnding() {
    document.dispatchEvent(new CustomEvent("clinic:session-ending"));
  }

  function schedulePoll(secondsLeft) {
    clearTimeout(pollTimer);
    var untilWarning = secondsLeft - warningSeconds;
    // Before the warning: wake when it is due (at most every 30 s). During it: every few
    // seconds, so a renewal in another tab closes this tab's dialog too.
    var wait = untilWarning > 0 ? Math.min(30, untilWarning)
                                : Math.min(5, Math.max(1, secondsLeft));
    pollTimer = setTimeout(poll, wait * 1000);
  }

  function apply(state) {
    if (!state.signed_in) { leave(state.reason || "idle"); return; }
    // The server decides: at 0 it has not signed us out yet (same second), so ask again.
    if (state.seconds_left <= 0) { clearTimeout(pollTimer); pollTimer = setTimeout(poll, 1000); return; }
    deadline = Date.now() + state.seconds_left * 1000;
    if (state.seconds_left <= warningSeconds) { showWarning(); } else { hideWarning(); }
    schedulePoll(state.seconds_left);
  }

  // An answer that is not our JSON (a redirect to the sign-in page, an error page) means the
  // session is gone: treat it as signed out rather than keep PHI on screen.
  function answer(r) {
    var type = r.headers.get("Content-Type") || "";
    if (r.redirected || type.indexOf("application/json") !== 0) {
      return { signed_in: false, seconds_left: 0 };
    }
    return r.json();
  }

  function poll() {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store", redirect: "follow",
                       headers: { "Accept": "application/json" } })
      .then(answer)
      .then(apply)
      .catch(function () {
        // Server unreachable: past the known deadline, hide the page anyway.
        if (deadline !== null && Date.now() >= deadline) { leave("idle"); return; }
        schedulePoll(warningSeconds + 5);
      });
  }

  function tick() {
    if (deadline === null) { return; }
    var left = Math.max(0, Math.ceil((deadline - Date.now()) / 1000));
    countdown.textContent = String(left);
    if (left <= 3 && !endingAnnounced) { endingAnnounced = true; announceEnding(); }
    if (left <= 0) { clearInterval(tickTimer); poll(); }
  }

  function showWarning() {
    if (!dialog.open) { dialog.showModal(); stay.focus(); announceEnding(); }
    tick();
    clearInterval(tickTimer);
    tickTimer = setInterval(tick, 1000);
  }

  function hideWarning() {
    endingAnnounced = false;
    clearInterval(tickTimer);
    if (dialog.open) { dialog.close(); }
  }

  function renew() {
    lastRenewal = Date.now();
    return fetch(renewUrl, { method: "POST", credentials: "same-origin", cache: "no-store",
                      headers: { "X-CSRFToken": csrfToken(), "Accept": "application/json" } })
      .then(answer)
      .then(function (state) {
        apply(state);
        if (state.signed_in && channel) { channel.postMessage({ type: "renewed" }); }
      });
  }

  stay.addEventListener("click", function () {
    renew().catch(function () { leave("idle"); });
  });

  // Real input only (isTrusted: not a script's synthetic event), throttled; while the warning
  // is open the page behind it takes no input, and "Stay signed in" decides.
  function onInput(event) {
    if (!event.isTrusted || dialog.open) { return; }
    if (Date.now() - lastRenewal < renewEveryMs) { return; }
    renew().catch(function () { /* the next poll decides */ });
  }
  document.addEventListener("input", onInput, true);
  document.addEventListener("keydown", onInput, true);

  // Another tab signed out: hide this page at once, then go to the sign-in page once the
  // server agrees (the other tab's sign-out request may still be on its way).
  function followSignOut(attempt) {
    fetch(statusUrl, { credentials: "same-origin", cache: "no-store" })
      .then(answer)
      .then(function (state) {
        if (state.signed_in && attempt < 10) {
          setTimeout(function () { followSignOut(attempt + 1); }, 200);
        } else {
          window.location.replace(loginUrl + "?expired=signed-out");
        }
      })
      .catch(function () { window.location.replace(loginUrl + "?expired=signed-out"); });
  }

  if (channel) {
    channel.onmessage = function (event) {
      if (event.data.type === "signed-out") {
        clearTimeout(pollTimer);
        clearInterval(tickTimer);
        document.body.textContent = "";
        followSignOut(0);
      } else if (event.data.type === "renewed") { poll(); }
    };
  }
  document.querySelectorAll("form[action$='/account/sign-out/']").forEach(function (form) {
    form.addEventListener("submit", function () {
      if (channel) { channel.postMessage({ type: "signed-out" }); }
    });
  });
  poll();
}());
