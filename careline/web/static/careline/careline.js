// Small progressive enhancements; every page works without them.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-clone-last]");
  if (!button) return;
  const container = document.querySelector(button.dataset.cloneLast);
  const last = container && container.lastElementChild;
  if (!last) return;
  const copy = last.cloneNode(true);
  copy.querySelectorAll("input").forEach((input) => { input.value = ""; });
  container.appendChild(copy);
  const first = copy.querySelector("input") || (copy.matches("input") ? copy : null);
  if (first) { first.value = ""; first.focus(); }
});
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
