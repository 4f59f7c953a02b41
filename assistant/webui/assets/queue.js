// Questions wait here, in the page, so none is lost while an answer is pending (gr.HTML js_on_load).
// Ask / Enter hands the box's text to window.__assistantAsk and empties the box at once; the
// question is listed below the chat until its turn, and the queue feeds the hidden
// #next-question box and #run-button one question at a time, in order.
const waiting = [];
let current = null;

const render = () => {
  const busy = element.querySelector('.busy');
  busy.classList.toggle('on', current !== null);
  element.querySelector('.busy-text').textContent = current === null ? '' :
    'Answering: ' + current + (waiting.length ? ` (${waiting.length} more waiting)` : '');
  element.querySelector('ol.waiting').replaceChildren(...waiting.map((q) => {
    const li = document.createElement('li');
    li.textContent = q;  // text, never markup
    return li;
  }));
  document.body.classList.toggle('assistant-busy', current !== null);
};

const next = () => {
  if (current !== null || !waiting.length) return;
  const box = document.querySelector('#next-question textarea');
  const run = document.querySelector('#run-button');
  if (!box || !run) { setTimeout(next, 100); return; }
  current = waiting.shift();
  box.value = current;
  box.dispatchEvent(new Event('input', {bubbles: true}));
  render();
  setTimeout(() => run.click(), 0);
};

window.__assistantAsk = (q) => {
  q = (q || '').trim();
  if (q) { waiting.push(q); render(); next(); }
};
window.__assistantDone = () => { current = null; render(); next(); };
window.__assistantPending = () => waiting.length + (current === null ? 0 : 1);
