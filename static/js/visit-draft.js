/* Keeps the visit form's unsaved text on the server when the session is about to end
   (session-timeout.js fires "clinic:session-ending" when the idle warning opens and again just
   before the end). The server encrypts it and gives it back in this form after the same user
   signs in again (records/drafts.py). Nothing is kept in browser storage. */
(function () {
  "use strict";
  var form = document.querySelector("form.visit-form[data-draft-url]");
  if (!form) { return; }
  var names = ["visit_date", "diagnosis_code", "notes"];
  var submitting = false;

  function typed() {
    var values = {};
    names.forEach(function (name) {
      var field = form.elements.namedItem(name);
      values[name] = field ? field.value : "";
    });
    return values;
  }

  var kept = JSON.stringify(typed());  // what the server already has (the page as loaded)
  if (form.dataset.restored === "true") { document.body.dataset.returnTo = window.location.pathname; }
  form.addEventListener("submit", function () { submitting = true; });

  function keep() {
    var values = typed();
    var snapshot = JSON.stringify(values);
    if (submitting || snapshot === kept) { return; }
    var data = new URLSearchParams();
    data.append("patient_id", form.dataset.patientId);
    if (form.dataset.recordId) { data.append("record_id", form.dataset.recordId); }
    names.forEach(function (name) { data.append(name, values[name]); });
    var token = form.elements.namedItem("csrfmiddlewaretoken");
    fetch(form.dataset.draftUrl, {
      method: "POST", credentials: "same-origin", cache: "no-store", body: data,
      headers: { "X-CSRFToken": token ? token.value : "", "Accept": "application/json" }
    }).then(function (response) {
      if (response.ok) {
        kept = snapshot;
        document.body.dataset.returnTo = window.location.pathname;
      }
    }).catch(function () { /* signed out already: nothing more can be done */ });
  }

  document.addEventListener("clinic:session-ending", keep);
}());
