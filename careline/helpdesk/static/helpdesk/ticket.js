// Ticket page: Ctrl+Enter (⌘+Enter) sends the reply; Alt+R (⌥+R) opens the canned-reply picker, whose choice
// is inserted (already filled for this customer) at the cursor; the attach button lists the chosen files; the
// internal-note switch tints the reply box.
// No inline scripts (CSP).
(function () {
  function setup() {
    const form = document.getElementById("reply-form");
    const body = document.getElementById("reply-body");
    if (!form || !body) return;
    body.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        if (form.requestSubmit) form.requestSubmit(); else form.submit();
      }
    });
    const picker = document.getElementById("canned-picker");
    const source = document.getElementById("canned-replies-data");
    if (picker && source) {
      const replies = JSON.parse(source.textContent);
      document.addEventListener("keydown", function (event) {
        // event.code: the R key whatever the layout (⌥+R types "®" on a Mac).
        if (!event.altKey || event.ctrlKey || event.metaKey || event.code !== "KeyR") return;
        event.preventDefault();
        picker.focus();
        // Open the list: arrows then move without inserting, Enter inserts once.
        if (picker.showPicker) {
          try { picker.showPicker(); } catch (e) { /* not allowed here: the focused list still works */ }
        }
      });
      picker.addEventListener("change", function () {
        const reply = replies[parseInt(picker.value, 10)];
        if (!reply) return;
        const start = body.selectionStart || 0;
        const end = body.selectionEnd || 0;
        body.value = body.value.slice(0, start) + reply.body + body.value.slice(end);
        const caret = start + reply.body.length;
        body.focus();
        body.setSelectionRange(caret, caret);
        picker.value = "";
      });
    }
    const files = document.getElementById("reply-attachments");
    const fileNames = document.getElementById("reply-files");
    if (files && fileNames) {
      files.addEventListener("change", function () {
        const names = Array.prototype.map.call(files.files, function (f) { return f.name; }).join(", ");
        fileNames.textContent = names;
        fileNames.title = names;
      });
    }
    const internal = document.getElementById("reply-internal");
    if (internal) {
      const tint = function () { body.classList.toggle("bg-warning-subtle", internal.checked); };
      internal.addEventListener("change", tint);
      tint();
    }
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
