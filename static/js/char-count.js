/* A live character count under each textarea[data-max-length] (its count element is
   #<id>_count). Nothing is cut: the server refuses a note over the limit with a message.
   Counted as the server will: by character, and each line break as two (browsers send CRLF). */
(function () {
  "use strict";
  function length(text) {
    var lineBreaks = (text.match(/\n/g) || []).length;
    return Array.from(text).length + lineBreaks;
  }
  document.querySelectorAll("textarea[data-max-length]").forEach(function (area) {
    var limit = parseInt(area.dataset.maxLength, 10);
    var out = document.getElementById(area.id + "_count");
    if (!out || !limit) { return; }
    var count = document.createElement("span");
    var status = document.createElement("span");
    status.setAttribute("role", "status");  // announced only when the state changes
    out.textContent = "";
    out.appendChild(count);
    out.appendChild(status);
    var over = null;
    function update() {
      var used = length(area.value);
      count.textContent = used.toLocaleString("en-US") + " of " + limit.toLocaleString("en-US") +
        " characters. ";
      var nowOver = used > limit;
      if (nowOver !== over) {
        over = nowOver;
        out.classList.toggle("over-limit", over);
        area.setAttribute("aria-invalid", over ? "true" : "false");
      }
      status.textContent = over ? (used - limit).toLocaleString("en-US") +
        " over the limit: shorten the note before saving." : "";
    }
    area.addEventListener("input", update);
    update();
  });
}());
