/* ICD-10-CM suggestions on the visit form. Progressive: without this script the server still
   validates the code and shows its description after saving. POSTs the word to /icd10/lookup/
   with the visit form's CSRF token (a diagnosis word, never patient data, and never in a URL,
   so in no server log) and lists matches as buttons; choosing one fills in
   the code and shows its description. No inline script or style (CSP). */
(function () {
  "use strict";
  var box = document.querySelector(".icd10-lookup[data-lookup-url]");
  if (!box || !window.fetch) { return; }
  var input = box.querySelector("input");
  var list = document.getElementById("icd10-suggestions");
  var described = document.getElementById("icd10-description");
  if (!input || !list) { return; }
  var url = box.dataset.lookupUrl;
  var form = box.closest("form");
  var token = form ? form.querySelector("input[name=csrfmiddlewaretoken]") : null;
  if (!token) { return; }
  var timer = null;
  var latest = 0;

  function clear() {
    list.textContent = "";
    list.hidden = true;
  }

  function choose(result) {
    input.value = result.code;
    if (described) { described.textContent = result.description; }
    clear();
    input.focus();
  }

  function show(results) {
    list.textContent = "";
    results.forEach(function (result) {
      var item = document.createElement("li");
      var button = document.createElement("button");
      button.type = "button";
      button.setAttribute("role", "option");
      button.dataset.code = result.code;
      button.textContent = result.code + " \u2014 " + result.description;
      button.addEventListener("click", function () { choose(result); });
      item.appendChild(button);
      list.appendChild(item);
    });
    list.hidden = results.length === 0;
  }

  function lookup() {
    var term = input.value.trim();
    if (term.length < 2) { clear(); return; }
    var ticket = ++latest;
    var body = new URLSearchParams();
    body.append("q", term);
    fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": token.value },
      body: body
    })
      .then(function (response) { return response.ok ? response.json() : { results: [] }; })
      .then(function (data) { if (ticket === latest) { show(data.results || []); } })
      .catch(clear);
  }

  input.addEventListener("input", function () {
    if (described) { described.textContent = ""; }
    window.clearTimeout(timer);
    timer = window.setTimeout(lookup, 250);
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { clear(); }
    if (event.key === "ArrowDown" && !list.hidden) {
      var first = list.querySelector("button");
      if (first) { event.preventDefault(); first.focus(); }
    }
  });
})();
