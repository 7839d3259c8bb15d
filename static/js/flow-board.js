/* Patient-flow board: replaces the table's rows with fresh ones from the same origin every few
   seconds, without reloading the page. The rows come from GET <tbody data-refresh-url>, a path
   the server never counts as activity, so an open board does not keep an idle session alive
   (session-timeout.js still signs out and clears the screen). Any answer that is not the rows
   (a redirect to sign-in, an error) stops the refresh; nothing else is put on the page. */
(function () {
  "use strict";
  var rows = document.getElementById("flow-rows");
  if (!rows || !rows.dataset.refreshUrl) { return; }
  var url = rows.dataset.refreshUrl;
  var seconds = Math.max(1, parseInt(rows.dataset.refreshSeconds || "15", 10));
  var updated = document.getElementById("flow-updated");
  var timer = null;

  function stop() { clearTimeout(timer); timer = null; }

  function refresh() {
    fetch(url, { credentials: "same-origin", cache: "no-store", redirect: "manual",
                 headers: { "Accept": "text/html" } })
      .then(function (r) {
        var type = r.headers.get("Content-Type") || "";
        if (r.type !== "basic" || r.status !== 200 || type.indexOf("text/html") !== 0) {
          throw new Error("not the board's rows");
        }
        var clinicTime = r.headers.get("X-Clinic-Time") || "";
        return r.text().then(function (html) { return [html, clinicTime]; });
      })
      .then(function (answer) {
        var html = answer[0];
        // Server-rendered, escaped rows of our own origin, parsed inert in a <template>.
        var template = document.createElement("template");
        template.innerHTML = "<table><tbody>" + html + "</tbody></table>";
        var fresh = template.content.querySelector("tbody");
        rows.replaceChildren.apply(rows, Array.prototype.slice.call(fresh.childNodes));
        if (updated && /^\d\d:\d\d:\d\d$/.test(answer[1])) {
          updated.textContent = "updated " + answer[1];
        }
        timer = document.hidden ? null : setTimeout(refresh, seconds * 1000);
      })
      .catch(stop);
  }

  document.addEventListener("visibilitychange", function () {
    if (document.hidden) { stop(); } else if (timer === null) { refresh(); }
  });
  timer = setTimeout(refresh, seconds * 1000);
}());
