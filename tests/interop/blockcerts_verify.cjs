// Runs the Blockcerts reference verifier (cert-verifier-js, dist/verifier-node) on documents.
//
// Input (stdin, JSON): {verifier, rpcUrl, chainId, confirmations, documents: [...]}.
// Output (stdout, JSON): {results: [{planned, reported, final}], outside: [...]}.
// The transaction is read from the given node by a custom explorer (priority 0) that checks
// the chain id and confirmations itself, as the verifier does not for custom explorers. Every
// connection to a host other than this machine is refused and reported in `outside`.
'use strict';

const net = require('net');
const http = require('http');

const LOCAL = new Set(['127.0.0.1', 'localhost', '::1', '::ffff:127.0.0.1']);
const outside = [];
const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function (...args) {
  const options = typeof args[0] === 'object' && args[0] !== null ? args[0] : { port: args[0], host: args[1] };
  const host = options.host || (options.path ? 'unix' : 'localhost');
  if (!LOCAL.has(host) && host !== 'unix') {
    outside.push(`${host}:${options.port}`);
    process.nextTick(() => this.destroy(new Error(`blocked: ${host} is outside this machine`)));
    return this;
  }
  return connect.apply(this, args);
};

function rpc(url, method, params) {
  const body = JSON.stringify({ jsonrpc: '2.0', id: 1, method, params });
  return new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', headers: { 'Content-Type': 'application/json' } }, (response) => {
      let text = '';
      response.on('data', (chunk) => { text += chunk; });
      response.on('end', () => {
        try {
          const parsed = JSON.parse(text);
          if (parsed.error) reject(new Error(parsed.error.message));
          else resolve(parsed.result);
        } catch (error) { reject(error); }
      });
    });
    request.on('error', reject);
    request.end(body);
  });
}

function explorer(input) {
  return {
    apiType: 'rpc',
    chainType: 'eth',
    priority: 0,
    serviceURL: input.rpcUrl,
    async parsingFunction({ transactionId }) {
      const chainId = parseInt(await rpc(input.rpcUrl, 'eth_chainId', []), 16);
      if (chainId !== input.chainId) throw new Error(`node is on chain ${chainId}, not ${input.chainId}`);
      const hash = transactionId.startsWith('0x') ? transactionId : `0x${transactionId}`;
      const tx = await rpc(input.rpcUrl, 'eth_getTransactionByHash', [hash]);
      if (!tx || !tx.blockNumber) throw new Error('transaction not mined');
      const head = parseInt(await rpc(input.rpcUrl, 'eth_blockNumber', []), 16);
      // Blocks after the including one, as the verifier's own explorers count confirmations.
      if (head - parseInt(tx.blockNumber, 16) < input.confirmations) throw new Error('not confirmed');
      const block = await rpc(input.rpcUrl, 'eth_getBlockByNumber', [tx.blockNumber, false]);
      return {
        remoteHash: tx.input.replace(/^0x/, ''),
        issuingAddress: tx.from,
        time: new Date(parseInt(block.timestamp, 16) * 1000),
        revokedAddresses: [],
      };
    },
  };
}

function plannedSteps(steps) {
  const codes = [];
  // A group lists its own sub-steps; proof and identity groups list them per proof suite.
  for (const step of steps || []) {
    for (const sub of step.subSteps || []) codes.push(sub.code);
    for (const suite of step.suites || []) {
      for (const sub of suite.subSteps || []) codes.push(sub.code);
    }
  }
  return codes;
}

async function verify(verifier, input, document) {
  const outcome = { planned: [], reported: [], final: null };
  try {
    const certificate = new verifier.Certificate(document, { locale: 'en-US', explorerAPIs: [explorer(input)] });
    await certificate.init();
    outcome.planned = plannedSteps(certificate.verificationSteps);
    outcome.final = await certificate.verify(({ code, status, errorMessage }) => {
      outcome.reported.push({ code, status, message: errorMessage || null });
    });
  } catch (error) {
    outcome.final = { status: 'error', message: String(error && error.message || error) };
  }
  return outcome;
}

async function main() {
  let text = '';
  for await (const chunk of process.stdin) text += chunk;
  const input = JSON.parse(text);
  // The verifier logs freely; keep stdout for the result.
  const log = console.log;
  console.log = (...args) => process.stderr.write(args.map(String).join(' ') + '\n');
  console.warn = console.log;
  console.error = console.log;
  const verifier = require(input.verifier);
  const results = [];
  for (const document of input.documents) results.push(await verify(verifier, input, document));
  log(JSON.stringify({ results, outside }));
}

main().catch((error) => { process.stderr.write(String(error && error.stack || error) + '\n'); process.exit(1); });
