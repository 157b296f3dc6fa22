// Lead list: "tick all" for the bulk assignment (works for rows added by "Load more" too).
document.addEventListener("change", (event) => {
  const all = event.target.closest("[data-check-all]");
  if (!all) return;
  document.querySelectorAll(all.dataset.checkAll).forEach((box) => { box.checked = all.checked; });
});
