// The stacking page: a person picks a pathway and drops a learner's credential files; the
// ledger evaluates them (POST /pathways/{id}/evaluations, nothing stored) and this shows each
// component's verdict, a bar per credit system filling toward the total required, and the
// checklist of rules in words.
'use strict';

(() => {
  const { json, el } = credledger;
  const $ = (id) => document.getElementById(id);
  let dropped = [];

  async function loadPathways() {
    const select = $('pathway');
    try {
      const { pathways } = await json('/pathways');
      if (!pathways.length) select.append(el('option', { value: '' }, 'No pathway is published yet'));
      for (const p of pathways) {
        select.append(el('option', { value: p.pathway_id }, `${p.title} (version ${p.current_version})`));
      }
      const wanted = new URLSearchParams(location.search).get('pathway');
      if (wanted) select.value = wanted;
    } catch (error) {
      $('form-error').textContent = `The pathways could not be loaded: ${error.message}`;
    }
  }

  function chosenFiles() {
    const picked = Array.from($('files').files || []);
    return picked.length ? picked : dropped;
  }

  function listChosen() {
    const list = $('chosen');
    list.replaceChildren(...chosenFiles().map((f) => el('li', {}, f.name)));
  }

  async function readDocuments(files) {
    const documents = [];
    for (const file of files) {
      let parsed;
      try {
        parsed = JSON.parse(await file.text());
      } catch (error) {
        throw new Error(`${file.name} is not a JSON credential document.`);
      }
      documents.push(parsed);
    }
    return documents;
  }

  function points(text) {
    return Number.parseFloat(text);
  }

  function renderBars(answer, rules) {
    const bars = $('bars');
    bars.replaceChildren();
    for (const rule of rules.filter((r) => r.rule === 'credits')) {
      const name = rule.name;
      const id = `bar-${bars.children.length}`;
      const caption = `${rule.counted} of the ${rule.required} ${name} required`;
      bars.append(
        el('div', { class: 'bar' },
          el('label', { for: id }, `${name}: ${caption}`),
          el('progress', { id, max: String(points(rule.required)), value: String(Math.min(points(rule.counted), points(rule.required))), 'data-framework': rule.framework }, caption)),
      );
    }
    const others = answer.totals.filter((t) => !rules.some((r) => r.rule === 'credits' && r.framework === t.framework));
    for (const other of others) {
      bars.append(el('p', { class: 'hint' }, `${other.points} ${other.name} offered: another credit system, not added.`));
    }
  }

  function renderRules(answer) {
    $('rules').replaceChildren(...answer.rules.map((r) => el('li', { class: r.met ? 'met' : 'unmet', 'data-rule': r.rule },
      el('span', { class: `mark ${r.met ? 'pass' : 'fail'}` }, r.met ? 'Met' : 'Not met'), ' ', r.text)));
    $('missing').replaceChildren(...answer.missing.map((m) => el('li', {}, m)));
    $('missing-block').hidden = answer.missing.length === 0;
  }

  function renderComponents(answer, files) {
    $('components').replaceChildren(...answer.components.map((c, i) => {
      const title = c.title || files[i].name;
      const provider = c.provider ? ` — ${c.provider}` : '';
      const counted = c.contributes.map((p) => `${p.points} ${p.name}`).join(', ') || 'no credit points';
      const item = el('li', { 'data-counts': String(c.counts) },
        el('span', { class: `mark ${c.counts ? 'pass' : 'fail'}` }, c.counts ? 'Counts' : 'Does not count'),
        ' ', el('strong', {}, title), provider, ': ', c.counts ? counted : 'counts for nothing');
      if (c.reasons.length) item.append(el('ul', {}, ...c.reasons.map((r) => el('li', {}, r))));
      return item;
    }));
  }

  async function check(event) {
    event.preventDefault();
    $('form-error').textContent = '';
    const pathway = $('pathway').value;
    const files = chosenFiles();
    if (!pathway) { $('form-error').textContent = 'Pick a pathway first.'; $('pathway').focus(); return; }
    if (!files.length) { $('form-error').textContent = 'Choose the credential files to check.'; $('files').focus(); return; }
    $('check-button').disabled = true;
    try {
      const documents = await readDocuments(files);
      const answer = await json(`/pathways/${pathway}/evaluations`, {
        method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ documents }),
      });
      const verdict = $('verdict');
      verdict.className = `verdict ${answer.met ? 'valid' : 'bad'}`;
      verdict.dataset.met = String(answer.met);
      $('verdict-title').textContent = answer.met ? 'PATHWAY MET' : 'PATHWAY NOT MET';
      const counting = answer.components.filter((c) => c.counts).length;
      $('verdict-text').textContent = answer.met
        ? `${counting} of ${answer.components.length} credentials count and every rule of “${answer.target.title}” is met. The institution may now decide on a recognition.`
        : `“${answer.target.title}” is not met yet: ${counting} of ${answer.components.length} credentials count. See what is missing below.`;
      renderBars(answer, answer.rules);
      renderRules(answer);
      renderComponents(answer, files);
      $('result').hidden = false;
      verdict.focus();
    } catch (error) {
      const fields = (error.problem && error.problem.errors) || [];
      $('form-error').textContent = [error.message, ...fields.map((f) => `${f.field}: ${f.message}`)].join(' ');
    } finally {
      $('check-button').disabled = false;
    }
  }

  document.addEventListener('DOMContentLoaded', () => {
    loadPathways();
    $('files').addEventListener('change', () => { dropped = []; listChosen(); });
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      dropped = Array.from(e.dataTransfer.files || []);
      $('files').value = '';
      listChosen();
    });
    $('stack-form').addEventListener('submit', check);
  });
})();
