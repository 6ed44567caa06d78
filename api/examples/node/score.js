#!/usr/bin/env node
// Score an applicant with tinchap over gRPC from Node.js: @grpc/grpc-js with mutual TLS, the
// service's .proto files loaded at run time by @grpc/proto-loader, the health check first, and
// a refusal read from the google.rpc.Status in its "grpc-status-details-bin" trailer.
//
//   npm ci
//   node score.js --target localhost:50051 --ca ca.pem --cert bank.pem --key bank.key \
//       --citizen 012345678901 --consent-ref REF [--request-id ID] [--server-name NAME]
//
// Prints the answer as JSON and exits 0; on a refusal prints "REASON (STATUS): message" and
// each bad field, and exits 1.
'use strict';

const fs = require('fs');
const path = require('path');
const crypto = require('crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');

const API = path.resolve(__dirname, '..', '..');

function options(argv) {
  const o = {target: 'localhost:50051', purpose: 'loan-origination',
             product: 'unsecured-consumer', amount: '50000000', term: 24};
  for (let i = 2; i < argv.length; i += 2) {
    const name = argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
    if (argv[i + 1] === undefined) throw new Error(`${argv[i]} needs a value`);
    o[name] = argv[i + 1];
  }
  for (const need of ['ca', 'cert', 'key', 'citizen', 'consentRef']) {
    if (!o[need]) throw new Error(`--${need.replace(/[A-Z]/g, c => '-' + c.toLowerCase())} is required`);
  }
  return o;
}

// keepCase: the .proto field names (citizen_id); longs as strings: 64-bit integers stay exact
const LOAD = {keepCase: true, longs: String, enums: String, defaults: true, oneofs: true,
              includeDirs: [API]};
const pkg = grpc.loadPackageDefinition(protoLoader.loadSync(
    ['tinchap/v1/scoring.proto', 'grpc/health/v1/health.proto'], LOAD));

// The error model: google.rpc.Status and its details, decoded with protobufjs.
const rpc = new protobuf.Root();
rpc.resolvePath = (origin, target) => path.join(API, target);
rpc.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
const Status = rpc.lookupType('google.rpc.Status');

function explain(err) {
  const raw = err.metadata && err.metadata.get('grpc-status-details-bin')[0];
  if (!raw) return `${grpc.status[err.code]}: ${err.details}`;
  const status = Status.decode(raw);
  let reason = 'UNSPECIFIED';
  const lines = [];
  for (const any of status.details) {
    const type = rpc.lookupType(any.type_url.slice(any.type_url.lastIndexOf('/') + 1));
    const detail = type.decode(any.value);
    if (type.fullName === '.google.rpc.ErrorInfo') reason = detail.reason;
    if (type.fullName === '.google.rpc.BadRequest') {
      for (const v of detail.fieldViolations) lines.push(`  field ${v.field}: ${v.description}`);
    }
  }
  return [`${reason} (${grpc.status[err.code]}): ${status.message}`, ...lines].join('\n');
}

function main() {
  const o = options(process.argv);
  const creds = grpc.credentials.createSsl(fs.readFileSync(o.ca), fs.readFileSync(o.key),
                                           fs.readFileSync(o.cert));
  const channelOptions = {
    // retry a call answered UNAVAILABLE (draining, restarting): a repeated request_id gets
    // the original answer back
    'grpc.service_config': JSON.stringify({methodConfig: [{
      name: [{service: 'tinchap.v1.Scoring'}],
      retryPolicy: {maxAttempts: 4, initialBackoff: '0.1s', maxBackoff: '1s',
                    backoffMultiplier: 2, retryableStatusCodes: ['UNAVAILABLE']},
    }]}),
  };
  if (o.serverName) channelOptions['grpc.ssl_target_name_override'] = o.serverName;
  const health = new pkg.grpc.health.v1.Health(o.target, creds, channelOptions);
  const scoring = new pkg.tinchap.v1.Scoring(o.target, creds, channelOptions);
  const deadline = () => new Date(Date.now() + 5000);
  health.Check({service: 'tinchap.v1.Scoring'}, {deadline: deadline()}, (err, h) => {
    if (err) return fail(explain(err));
    if (h.status !== 'SERVING') return fail('tinchap.v1.Scoring is not serving here');
    const request = {
      citizen_id: o.citizen, consent_ref: o.consentRef, purpose: o.purpose,
      product: o.product, loan_amount_vnd: String(o.amount), loan_term_months: Number(o.term),
      request_id: o.requestId || crypto.randomUUID(),
    };
    scoring.Score(request, {deadline: deadline()}, (err2, answer) => {
      if (err2) return fail(explain(err2));
      console.log(JSON.stringify(answer, null, 2));
      health.close();
      scoring.close();
    });
  });

  function fail(text) {
    console.error(text);
    process.exitCode = 1;
    health.close();
    scoring.close();
  }
}

try {
  main();
} catch (e) {
  console.error(e.message);
  process.exitCode = 2;
}
