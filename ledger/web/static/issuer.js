// An issuer's public page: register entry, quality assurance, key history, anchoring keys.
'use strict';

(async () => {
  const { json, codeLabels, label, el, fact, date } = credledger;
  const $ = (id) => document.getElementById(id);
  const id = new URLSearchParams(location.search).get('id');
  if (!id) { $('issuer-name').textContent = 'No issuer given'; return; }
  await codeLabels();
  let issuer;
  let profile;
  try {
    [issuer, profile] = await Promise.all([json(`/issuers/${id}`), json(`/issuers/${id}/profile`)]);
  } catch (error) {
    $('issuer-name').textContent = 'Issuer not found';
    $('issuer-error').textContent = error.message;
    return;
  }
  document.title = `${issuer.legal_name} — credledger`;
  $('issuer-name').textContent = issuer.legal_name;
  const facts = $('issuer-facts');
  fact(facts, 'Standing', issuer.status === 'active' ? 'Active: in good standing' : `${issuer.status}`);
  fact(facts, 'Country', label(issuer.country), issuer.region ? `, ${issuer.region}` : '');
  fact(facts, 'Registered', date(issuer.registered_at));
  fact(facts, 'Issuer id', el('span', { class: 'mono' }, issuer.issuer_id));
  fact(facts, 'Blockcerts profile', el('a', { href: `/issuers/${id}/profile` }, 'profile (JSON)'));
  fact(facts, 'Revocation list', el('a', { href: `/issuers/${id}/revocation-list` }, 'revocation list (JSON)'));
  for (const qa of issuer.quality_assurance) {
    const reference = qa.reference && /^https?:\/\//.test(qa.reference)
      ? el('a', { href: qa.reference, rel: 'noopener' }, qa.reference) : (qa.reference || '—');
    $('qa').append(el('tr', {}, el('td', {}, label(qa.type)), el('td', {}, qa.body), el('td', {}, reference)));
  }
  for (const key of issuer.keys) {
    $('keys').append(el('tr', {}, el('td', { class: 'mono' }, key.address), el('td', {}, date(key.valid_from)), el('td', {}, key.valid_until ? date(key.valid_until) : 'current')));
  }
  for (const key of profile.publicKey) {
    $('anchoring-keys').append(el('tr', {}, el('td', { class: 'mono' }, key.id.replace('ecdsa-koblitz-pubkey:', '')), el('td', {}, date(key.created)), el('td', {}, key.revoked ? date(key.revoked) : 'in use')));
  }
  for (const event of issuer.history) {
    const detail = event.reason ? `: ${event.reason}` : event.address ? ` (${event.address})` : '';
    $('history').append(el('li', {}, `${date(event.at)} — ${event.event}${detail}`));
  }
})();
