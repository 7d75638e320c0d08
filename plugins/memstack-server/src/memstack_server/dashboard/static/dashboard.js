// memstack dashboard: the only script. Asks before a delete, and draws score bars.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });
  document.querySelectorAll(".bar[data-score]").forEach(function (bar) {
    var score = Math.max(0, Math.min(1, parseFloat(bar.getAttribute("data-score")) || 0));
    bar.style.width = Math.round(score * 48) + "px";
  });
});
