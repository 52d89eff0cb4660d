// Consento staff UI: small enhancements. Every page works without them.
(function () {
  "use strict";

  // A link marked data-dialog opens that dialog as a modal instead of
  // reloading the page with it open.
  document.addEventListener("click", function (e) {
    var a = e.target.closest("a[data-dialog]");
    if (!a || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey) return;
    var d = document.getElementById(a.dataset.dialog);
    if (!d || typeof d.showModal !== "function") return;
    e.preventDefault();
    d.showModal();
  });

  // A dialog the server sends open (after an action in it, or when linked
  // to) is made modal: focus stays in it and Escape closes it.
  document.querySelectorAll("dialog[open]").forEach(function (d) {
    if (typeof d.showModal !== "function") return;
    d.close();
    d.showModal();
  });
})();
