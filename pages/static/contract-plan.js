// The plan editor checks the plan as it is filled in: after a pause in typing it posts the form to its
// check address (the same 检查 the button does without script) and shows the problems that page lists.
document.querySelectorAll('form[data-check]').forEach((form) => {
  const shown = document.getElementById(form.dataset.problems);
  let timer;
  const check = async () => {
    const answer = await fetch(form.dataset.check, { method: 'POST', body: new FormData(form), credentials: 'same-origin' });
    const found = new DOMParser().parseFromString(await answer.text(), 'text/html').getElementById(form.dataset.problems);
    if (found) shown.innerHTML = found.innerHTML;
  };
  const later = () => { clearTimeout(timer); timer = setTimeout(check, 400); };
  form.addEventListener('input', later);
  form.addEventListener('change', later);
});
