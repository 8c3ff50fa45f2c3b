// The console's only script: asks before a form marked data-confirm removes something.
// Everything works without it (a removal then needs no confirmation).
"use strict";
document.addEventListener("submit", (event) => {
  const form = event.target;
  const question = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (question && !window.confirm(question)) {
    event.preventDefault();
  }
});
