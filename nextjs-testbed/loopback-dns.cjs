// Preloaded into `next start` by the launcher (NODE_OPTIONS=--require, src/smokegate/testbed/realnext.py):
// the testbed's Node never leaves loopback.  Every name lookup other than localhost's answers ENOTFOUND
// at once, as a resolver answers a name that does not exist, without asking one: the image optimizer
// of an open images.remotePatterns (the image-optimizer-open fault) resolves the URL it is given before
// it fetches it (dns/promises lookup, next/dist/server/image-optimizer.js), Node's sockets and fetch
// (undici) resolve with dns.lookup.  Both are replaced here, before any module takes them.
"use strict";

const dns = require("node:dns");
const dnsPromises = require("node:dns/promises");

const LOOPBACK = new Set(["localhost", "localhost.", "ip6-localhost", "ip6-loopback"]);
const original = dns.lookup;
const originalPromise = dnsPromises.lookup;

function allowed(hostname) {
  const name = String(hostname).toLowerCase();
  return LOOPBACK.has(name) || name.endsWith(".localhost") || name.endsWith(".localhost.")
    || require("node:net").isIP(name) !== 0;  // a literal address: no lookup to answer
}

function refusal(hostname) {
  const error = new Error(`getaddrinfo ENOTFOUND ${hostname} (the testbed's Node resolves loopback names only)`);
  error.code = "ENOTFOUND";
  error.errno = -3008;  // UV_EAI_NONAME
  error.syscall = "getaddrinfo";
  error.hostname = hostname;
  return error;
}

function lookup(hostname, options, callback) {
  if (allowed(hostname)) return original.call(dns, hostname, options, callback);
  const done = typeof options === "function" ? options : callback;
  const error = refusal(hostname);
  process.stderr.write(`loopback-dns: refused a lookup of ${hostname}\n`);
  process.nextTick(() => done(error));
  return {};
}

async function lookupPromise(hostname, options) {
  if (allowed(hostname)) return originalPromise.call(dnsPromises, hostname, options);
  process.stderr.write(`loopback-dns: refused a lookup of ${hostname}\n`);
  throw refusal(hostname);
}

dns.lookup = lookup;
dnsPromises.lookup = lookupPromise;
if (dns.promises !== dnsPromises) dns.promises.lookup = lookupPromise;
