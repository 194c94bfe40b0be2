// The verifier page: a credential file, a pasted document or bundle, or a credential id in;
// every check as it runs, a verdict that cannot be misread, and the credential's elements.
'use strict';

(() => {
  const { json, codeLabels, label, el, fact, date, txLink, blockLink } = credledger;
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

  const TITLES = {
    format: 'Document format',
    integrity: 'Integrity: nothing was changed',
    anchor_path: 'Place in the anchored batch',
    ledger_record: "The ledger's own record of this version",
    document_leaf: "The document the ledger anchored for this version",
    transaction: 'Anchor on the blockchain',
    issuer: "Issuer's anchoring key",
    validity: 'Validity period',
    status: 'Current status',
    bundle: 'Proof bundle',
    envelope: 'Ledger record',
    issuer_signature: "Issuer's signature",
    issuer_registered: 'Issuer registered and in good standing',
    quality_assurance: "Issuer's quality assurance",
    checkpoint_signature: 'Signed log checkpoint',
    witnesses: 'Witness cosignatures',
    log_inclusion: 'Included in the public log',
    anchor: 'Anchored',
    seal: "Issuer's electronic seal (JAdES)",
    certificate_chain: "Seal certificate's chain of trust",
    shapes: 'Europass EDC format (EU shapes)',
    seal_certificate: 'Seal certificate registered to the issuer',
    disclosures: 'Disclosed claims match what the issuer signed',
    key_binding: "The learner's wallet key (key binding)",
  };
  const SD_JWT = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+~/;
  const EDC_ID = /^urn:credledger:([0-9a-f-]{36}):v([0-9]+)$/;
  const CREDITS = {
    'http://data.europa.eu/snb/education-credit/6fcec5c5af': 'ECTS',
    'http://data.europa.eu/snb/education-credit/60b314e826': 'ECVET',
  };

  const $ = (id) => document.getElementById(id);
  const pause = () => new Promise((resolve) => setTimeout(resolve, 120));

  function classify(text) {
    const trimmed = text.trim();
    if (UUID.test(trimmed)) return { kind: 'id', credentialId: trimmed };
    // A wallet presentation: only what the learner disclosed is shown, never the whole record.
    if (SD_JWT.test(trimmed)) return { kind: 'sd_jwt', text: trimmed };
    let data;
    try { data = JSON.parse(trimmed); } catch { return { kind: 'unreadable' }; }
    if (data && data.proof && data.proof.cryptosuite === 'merkle-proof-2019') {
      return { kind: 'document', data, credentialId: data.ledgerCredentialId, version: data.credentialVersion };
    }
    if (data && typeof data.payload === 'string' && Array.isArray(data.signatures)) {
      // A sealed Europass EDC credential: its payload names the ledger's credential and version.
      let named = null;
      try { named = EDC_ID.exec(JSON.parse(data.payload).id || ''); } catch { named = null; }
      return named
        ? { kind: 'edc', data, credentialId: named[1], version: Number(named[2]) }
        : { kind: 'edc', data };
    }
    if (data && typeof data.format === 'string' && data.credential_id) {
      return { kind: 'bundle', data, credentialId: data.credential_id, version: data.version };
    }
    return { kind: 'unreadable' };
  }

  // The order a person reads the checks in, whichever request answered them.
  const ORDER = ['format', 'seal', 'certificate_chain', 'shapes', 'seal_certificate',
    'bundle', 'envelope', 'integrity', 'ledger_record', 'anchor_path', 'document_leaf',
    'issuer_signature', 'disclosures', 'key_binding', 'issuer',
    'issuer_registered', 'quality_assurance', 'checkpoint_signature', 'log_inclusion', 'witnesses',
    'transaction', 'anchor', 'validity', 'status'];

  function stepItem(name) {
    const mark = el('span', { class: 'mark running' }, 'Checking…');
    const detail = el('span', { class: 'detail' }, '');
    const item = el('li', { 'data-step': name }, mark, el('span', {}, el('span', { class: 'step-name' }, TITLES[name] || name), detail));
    const rank = ORDER.indexOf(name);
    const later = [...$('steps').children].find((li) => ORDER.indexOf(li.dataset.step) > rank);
    $('steps').insertBefore(item, later || null);
    return { item, mark, detail };
  }

  async function show(step) {
    const shown = stepItem(step.name);
    await pause();
    const [cls, text] = step.passed === true ? ['pass', '✓ Passed'] : step.passed === false ? ['fail', '✗ Failed'] : ['open', '– Not checked'];
    shown.mark.className = `mark ${cls}`;
    shown.mark.textContent = text;
    shown.detail.textContent = step.detail;
    shown.item.dataset.result = cls;
  }

  function post(body) {
    return { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) };
  }

  // One request: the server runs every check (document, ledger record, register) and returns
  // them in reading order; they are shown one after another.
  async function check(input) {
    const body = input.kind === 'document' ? { document: input.data }
      : input.kind === 'bundle' ? { bundle: input.data }
        : input.kind === 'edc' ? { edc: input.data }
          : input.kind === 'sd_jwt' ? { sd_jwt: input.text, nonce: input.nonce, audience: input.audience }
            : { credential_id: input.credentialId };
    try {
      return await json('/verify', post(body));
    } catch (error) {
      if (error.problem && error.problem.code === 'anchor-pending') {
        return { verdict: 'not-anchored', steps: [{ name: 'anchor', passed: null, detail: error.message }] };
      }
      if (error.status === 404) {
        return { verdict: 'unknown-credential', steps: [{ name: 'envelope', passed: false, detail: error.message }] };
      }
      throw error;
    }
  }

  function verdictOf(verdict, status, version) {
    const verdicts = [verdict];
    if (verdicts.includes('invalid')) return ['bad', 'NOT VALID', 'This credential failed a check: do not accept it. The failed check says why.'];
    if (verdicts.includes('revoked')) {
      const revocation = status && status.revocation;
      const when = revocation ? ` on ${date(revocation.at)}` : '';
      const why = revocation ? `: “${revocation.reason}”` : '';
      return ['bad', 'REVOKED', `The issuer revoked this credential${when}${why}.`];
    }
    if (verdicts.includes('superseded')) {
      const shown = status && status.versions.find((v) => v.version === version);
      const next = shown && status.versions.find((v) => v.version === shown.superseded_by);
      const when = next ? ` on ${date(next.recorded_at)}` : '';
      return ['bad', 'SUPERSEDED', `The issuer replaced this version${when} with version ${shown ? shown.superseded_by : status ? status.current_version : '?'}; this one no longer stands.`];
    }
    if (verdicts.includes('expired')) return ['bad', 'EXPIRED', 'This credential is past its validity date.'];
    if (verdicts.includes('not-yet-valid')) return ['bad', 'NOT YET VALID', 'This credential is not valid yet.'];
    if (verdicts.includes('not-anchored')) {
      const shown = status && status.versions.find((v) => v.version === version);
      const when = shown ? ` on ${date(shown.recorded_at)}` : '';
      return ['open', 'NOT YET ANCHORED', `The credential was recorded${when}, but its batch is not anchored on the blockchain yet. Try again in a minute.`];
    }
    if (verdicts.includes('component-revoked')) return ['open', 'A COMPONENT WAS REVOKED', 'This stacked credential stands as issued, but one of the micro-credentials it was recognised from has since been revoked: the "components" check names it. Ask its issuer what follows.'];
    if (verdicts.includes('unknown-credential')) return ['bad', 'UNKNOWN', 'This ledger has no such credential.'];
    if (verdicts.includes('not-issued-here')) return ['bad', 'NOT ISSUED HERE', 'This credential was not issued through this ledger: it has no record of it. Check it where it was issued.'];
    if (verdicts.some((v) => v !== 'valid')) return ['open', 'COULD NOT BE CONFIRMED', 'Some checks could not be run, so this credential is not confirmed valid.'];
    return ['valid', 'VALID', 'This credential is authentic, anchored, and has not been revoked or replaced.'];
  }

  function renderCredential(status, version) {
    const list = $('facts');
    list.replaceChildren();
    const found = status.versions.find((v) => v.version === version) || status.versions[status.versions.length - 1];
    const c = found.content;
    fact(list, 'Title', c.title);
    fact(list, 'Status', `${found.status}${found.superseded_by ? ` (superseded by version ${found.superseded_by})` : ''}`);
    fact(list, 'Version', `${found.version} of ${status.current_version}`);
    fact(list, 'Awarding body', ...c.awarding_bodies.map((b, i) => `${i ? '; ' : ''}${b.legal_name} (${label(b.country)})`));
    fact(list, 'Issuer country', label(c.issuer_country), c.issuer_region ? `, ${c.issuer_region}` : '');
    fact(list, 'Date of issue', date(c.issued));
    if (c.valid_until) fact(list, 'Valid until', date(c.valid_until));
    const workload = [];
    for (const cp of c.workload.credit_points || []) workload.push(`${cp.point} ${CREDITS[cp.framework] || label(cp.framework)} credits`);
    if (c.workload.volume_of_learning) workload.push(`${c.workload.volume_of_learning.replace(/^PT?/, '')} of learning`);
    fact(list, 'Workload', workload.join('; '));
    if (c.eqf_level) fact(list, 'Level', `EQF ${label(c.eqf_level)}`);
    if (c.nqf_level) fact(list, 'National level', label(c.nqf_level));
    fact(list, 'Field', label(c.thematic_area));
    fact(list, 'Learning outcomes', el('ul', {}, ...c.learning_outcomes.map((o) => el('li', {}, o.text))));
    fact(list, 'Assessment', c.assessment_types.map(label).join('; '));
    fact(list, 'Form of participation', label(c.form_of_participation.mode),
      c.form_of_participation.learning_setting ? `, ${label(c.form_of_participation.learning_setting)}` : '');
    fact(list, 'Quality assurance', `${label(c.quality_assurance.type)} by ${c.quality_assurance.body}`);
    if (c.grade) fact(list, 'Grade', c.grade.value, c.grade.scheme ? ` (${c.grade.scheme})` : '');
    if (c.supervision) fact(list, 'Supervision and identity check', c.supervision);
    if (c.prerequisites) fact(list, 'Prerequisites', c.prerequisites);
    if (c.stackability) fact(list, 'Stackability', c.stackability.option, c.stackability.towards ? ` towards ${c.stackability.towards.title}` : '');
    if (c.further_information) fact(list, 'Further information', c.further_information);
    fact(list, 'Issuer', el('a', { href: `/issuer?id=${status.issuer_id}` }, 'issuer profile and key history'));
    $('credential').hidden = false;

    const anchor = found.anchor || {};
    const anchorList = $('anchor-facts');
    anchorList.replaceChildren();
    if (anchor.state === 'anchored') {
      fact(anchorList, 'Chain', anchor.chain_id === 11155111 ? 'Ethereum Sepolia (11155111)' : anchor.chain_id === 1 ? 'Ethereum mainnet (1)' : `chain ${anchor.chain_id}`);
      fact(anchorList, 'Transaction', txLink(anchor.chain_id, anchor.tx_hash));
      fact(anchorList, 'Block', blockLink(anchor.chain_id, anchor.block_number));
      fact(anchorList, 'Batch', `log checkpoint of ${anchor.checkpoint_size} entries`);
    } else {
      fact(anchorList, 'State', anchor.detail || 'not anchored yet');
    }
    $('anchor').hidden = false;
  }

  // The claims a wallet presentation disclosed, with their EU labels; nothing else is known.
  function renderDisclosed(credential) {
    const list = $('facts');
    list.replaceChildren();
    for (const claim of credential.disclosed) {
      const labels = (claim.value_labels || []).filter(Boolean);
      const value = labels.length ? labels.join('; ')
        : Array.isArray(claim.value) ? claim.value.map((v) => (typeof v === 'object' ? v.text || JSON.stringify(v) : v)).join('; ')
          : typeof claim.value === 'object' ? JSON.stringify(claim.value) : String(claim.value);
      fact(list, claim.label, value);
    }
    fact(list, 'Not disclosed', 'everything else: the learner chose not to show it');
    $('credential').hidden = false;
  }

  async function run(input) {
    $('result').hidden = false;
    $('steps').replaceChildren();
    $('credential').hidden = true;
    $('anchor').hidden = true;
    $('verdict').className = 'verdict open';
    $('verdict-title').textContent = 'Checking…';
    $('verdict-text').textContent = 'Each check appears below as it completes.';
    $('raw').textContent = input.data ? JSON.stringify(input.data, null, 2) : input.text || input.credentialId;
    await codeLabels();
    const checked = await check(input);
    for (const step of checked.steps) await show(step);
    if (input.kind === 'sd_jwt' && checked.credential) renderDisclosed(checked.credential);
    let status = null;
    if (input.credentialId) {
      status = await json(`/credentials/${input.credentialId}`).catch(() => null);
      if (status && input.kind === 'bundle') {
        // A bundle proves the version recorded at its envelope's log position.
        const position = JSON.parse(input.data.event.envelope).position;
        const proved = status.versions.find((v) => v.log_position === position);
        if (proved) input.version = proved.version;
      }
      if (status) renderCredential(status, input.version || status.current_version);
    }
    const [cls, title, text] = verdictOf(checked.verdict, status, input.version || (status && status.current_version));
    $('verdict').className = `verdict ${cls}`;
    $('verdict').dataset.verdict = title;
    $('verdict-title').textContent = title;
    $('verdict-text').textContent = text;
    $('verdict').focus();
  }

  async function submit(event) {
    event.preventDefault();
    $('form-error').textContent = '';
    const file = $('file').files[0];
    const text = file ? await file.text() : $('pasted').value;
    const input = classify(text);
    if (input.kind === 'unreadable') {
      $('form-error').textContent = 'This is not a credential id, a credential document, a sealed EDC credential, a wallet presentation or a proof bundle.';
      return;
    }
    if (input.kind === 'sd_jwt') {
      input.nonce = $('nonce').value.trim();
      input.audience = $('audience').value.trim();
      if (!input.nonce || !input.audience) {
        $('form-error').textContent = 'A wallet presentation is checked for the nonce and audience you asked for: fill in both.';
        return;
      }
    }
    try {
      await run(input);
    } catch (error) {
      $('verdict').className = 'verdict open';
      $('verdict-title').textContent = 'COULD NOT BE CHECKED';
      $('verdict-text').textContent = `The ledger could not be asked: ${error.message}`;
    }
  }

  function setup() {
    $('verify-form').addEventListener('submit', submit);
    $('file').addEventListener('change', () => { if ($('file').files.length) $('pasted').value = ''; });
    const drop = $('drop');
    drop.addEventListener('dragover', (e) => { e.preventDefault(); drop.classList.add('over'); });
    drop.addEventListener('dragleave', () => drop.classList.remove('over'));
    drop.addEventListener('drop', async (e) => {
      e.preventDefault();
      drop.classList.remove('over');
      const file = e.dataTransfer.files[0];
      if (!file) return;
      $('pasted').value = await file.text();
      $('file').value = '';
      $('verify-form').requestSubmit();
    });
    const wanted = new URLSearchParams(location.search).get('credential');
    if (wanted) { $('pasted').value = wanted; $('verify-form').requestSubmit(); }
  }

  setup();
})();
