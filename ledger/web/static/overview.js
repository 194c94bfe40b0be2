// The ledger overview: latest checkpoint, witness quorum, anchors over time, the register.
'use strict';

(async () => {
  const { json, codeLabels, label, el, fact, date, txLink } = credledger;
  const $ = (id) => document.getElementById(id);
  const svg = (tag, attributes) => {
    const node = document.createElementNS('http://www.w3.org/2000/svg', tag);
    for (const [key, value] of Object.entries(attributes)) node.setAttribute(key, value);
    return node;
  };
  await codeLabels();
  const [checkpoint, witnesses, chain, issuers] = await Promise.all([
    json('/log/checkpoint').catch(() => null),
    json('/log/witnesses').catch(() => ({ quorum: 0, witnesses: [] })),
    json('/log/chain').catch(() => ({})),
    json('/issuers?limit=500').catch(() => ({ items: [] })),
  ]);
  const anchors = [];
  for (let after = 0; ;) {
    const page = await json(`/log/anchors?after_size=${after}&limit=500`).catch(() => ({ items: [], next: null }));
    anchors.push(...page.items);
    if (page.next === null || page.next === undefined) break;
    after = page.next;
  }
  const facts = $('checkpoint');
  if (checkpoint) {
    fact(facts, 'Log size', `${checkpoint.size} entries`);
    fact(facts, 'Root hash', el('span', { class: 'mono' }, checkpoint.root));
    fact(facts, 'Origin', checkpoint.origin);
    const signatureLines = (note) => (note || '').split('\n').filter((l) => l.startsWith('\u2014 ')).length;
    const c2sp = signatureLines(checkpoint.cosigned_note) - signatureLines(checkpoint.note);
    const bls = ((checkpoint.cosignatures || {}).signers || []).length;
    fact(facts, 'Witness cosignatures', String(bls + Math.max(c2sp, 0)));
  } else {
    fact(facts, 'Log', 'No checkpoint yet');
  }
  fact(facts, 'Anchoring chain', chain.chain_id ? `chain ${chain.chain_id}` : 'unknown');
  fact(facts, 'Anchoring address', el('span', { class: 'mono' }, chain.anchoring_address || '—'));
  // BLS witnesses and C2SP (cosignature/v1) witnesses count alike towards the quorum.
  const trusted = witnesses.witnesses.length + (witnesses.c2sp_witnesses || []).length;
  $('witnesses').textContent = witnesses.quorum
    ? `A checkpoint needs ${witnesses.quorum} of ${trusted} trusted witnesses' cosignatures.`
    : `No witness quorum is required (${trusted} trusted witnesses configured).`;

  const chart = $('chart');
  if (anchors.length) {
    const times = anchors.map((a) => a.block_time);
    const sizes = anchors.map((a) => a.checkpoint_size);
    const [t0, t1] = [Math.min(...times), Math.max(...times)];
    const top = Math.max(...sizes);
    const x = (t) => 40 + (t1 === t0 ? 540 : ((t - t0) / (t1 - t0)) * 540);
    const y = (s) => 140 - (s / top) * 120;
    chart.append(svg('line', { x1: 40, y1: 140, x2: 590, y2: 140, stroke: '#4a5560' }));
    chart.append(svg('line', { x1: 40, y1: 20, x2: 40, y2: 140, stroke: '#4a5560' }));
    const points = anchors.map((a) => `${x(a.block_time)},${y(a.checkpoint_size)}`).join(' ');
    chart.append(svg('polyline', { points, fill: 'none', stroke: '#0b57d0', 'stroke-width': 2 }));
    for (const a of anchors) chart.append(svg('circle', { cx: x(a.block_time), cy: y(a.checkpoint_size), r: 3, fill: '#0b57d0' }));
    const label0 = svg('text', { x: 4, y: 24, 'font-size': 11, fill: '#1b1f24' });
    label0.textContent = String(top);
    chart.append(label0);
    $('chart-desc').textContent = `${anchors.length} anchors from ${date(t0 * 1000)} to ${date(t1 * 1000)}; the log grew to ${top} entries.`;
    $('chart-caption').textContent = $('chart-desc').textContent;
  }
  for (const a of anchors.slice(-10).reverse()) {
    const documents = Math.max(0, (a.leaves || []).length - 1);
    $('anchors').append(el('tr', {}, el('td', {}, String(a.checkpoint_size)), el('td', {}, date(a.block_time * 1000)), el('td', {}, String(documents)), el('td', {}, txLink(a.chain_id, a.tx_hash))));
  }
  for (const issuer of issuers.items) {
    $('issuers').append(el('li', {}, el('a', { href: `/issuer?id=${issuer.issuer_id}` }, issuer.legal_name), ` — ${label(issuer.country)}, ${issuer.status}`));
  }
})();
