// Shared helpers of credledger's public pages: fetching JSON, code-list labels, formatting.
'use strict';

const credledger = (() => {
  const explorers = {
    1: 'https://etherscan.io',
    11155111: 'https://sepolia.etherscan.io',
    560048: 'https://hoodi.etherscan.io',
  };
  let labels = null;

  async function json(path, options) {
    const response = await fetch(path, options);
    const body = await response.json().catch(() => ({}));
    if (!response.ok) {
      const error = new Error(body.detail || `${path} answered ${response.status}`);
      error.problem = body;
      error.status = response.status;
      throw error;
    }
    return body;
  }

  async function codeLabels() {
    if (labels === null) labels = await json('/codelists/labels').catch(() => ({}));
    return labels;
  }

  function label(uri) {
    return (labels && labels[uri]) || uri;
  }

  function el(tag, attributes, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes || {})) {
      if (value === undefined || value === null) continue;
      if (key === 'class') node.className = value;
      else node.setAttribute(key, value);
    }
    for (const child of children) {
      if (child === undefined || child === null) continue;
      node.append(child instanceof Node ? child : String(child));
    }
    return node;
  }

  function fact(list, term, ...values) {
    const shown = values.filter((v) => v !== undefined && v !== null && v !== '');
    if (!shown.length) return;
    list.append(el('dt', {}, term), el('dd', {}, ...shown));
  }

  function date(value) {
    if (!value) return '';
    const parsed = new Date(value);
    if (Number.isNaN(parsed.getTime())) return value;
    return parsed.toLocaleString('en-GB', { dateStyle: 'long', timeStyle: 'short', timeZone: 'UTC' }) + ' UTC';
  }

  function txLink(chainId, txHash) {
    const base = explorers[chainId];
    if (!base) return el('span', { class: 'mono' }, txHash);
    return el('a', { href: `${base}/tx/${txHash}`, class: 'mono', rel: 'noopener' }, txHash);
  }

  function blockLink(chainId, number) {
    const base = explorers[chainId];
    if (!base) return String(number);
    return el('a', { href: `${base}/block/${number}`, rel: 'noopener' }, String(number));
  }

  return { json, codeLabels, label, el, fact, date, txLink, blockLink };
})();
