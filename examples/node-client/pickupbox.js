#!/usr/bin/env node
'use strict';
// A command-line tool over registry-client.js: each command is one or two
// registry calls, printed as one JSON object per line. Office commands:
//   create-order  get-order REF  list-orders  send-command
// Kiosk commands (with the kiosk's credential):
//   register-kiosk  heartbeat  stream-commands
//
// The credential never goes on the command line (other users see it in
// `ps`): PICKUPBOX_TOKEN, or --token-file FILE (what `kiosk-registry apikey
// create --output FILE` and `kiosk enrol --output FILE` write).
//
//   PICKUPBOX_TOKEN=... node pickupbox.js --address registry.example:50051 \
//       --ca ca.pem create-order --kind DOCUMENT_KIND_ID_CARD --kiosk kiosk-1
//
// A refused call prints {"error": {code, reason, domain, metadata, message}}
// and exits with 2.

const fs = require('node:fs');
const { parseArgs } = require('node:util');
const client = require('./registry-client');

const OPTIONS = {
  address: { type: 'string', default: process.env.PICKUPBOX_REGISTRY || '127.0.0.1:50051' },
  'token-file': { type: 'string' },
  user: { type: 'string' }, // the password comes from PICKUPBOX_PASSWORD
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  plaintext: { type: 'boolean', default: false },
  kiosk: { type: 'string', default: '' },
  kind: { type: 'string', default: 'DOCUMENT_KIND_ID_CARD' },
  size: { type: 'string', default: 'COMPARTMENT_SIZE_UNSPECIFIED' },
  reference: { type: 'string', default: '' },
  pin: { type: 'string', default: '' },
  contact: { type: 'string', default: '' },
  'request-id': { type: 'string' },
  status: { type: 'string', multiple: true, default: [] },
  type: { type: 'string', default: 'COMMAND_TYPE_RESYNC' },
  compartment: { type: 'string', default: '0' },
  reason: { type: 'string', default: '' },
  compartments: { type: 'string', default: '4' },
  count: { type: 'string', default: '1' },
  ack: { type: 'boolean', default: false },
  help: { type: 'boolean', default: false },
};

function print(value) {
  process.stdout.write(`${JSON.stringify(value)}\n`);
}

function token(values) {
  if (values['token-file']) return fs.readFileSync(values['token-file'], 'utf8').trim();
  return process.env.PICKUPBOX_TOKEN || undefined;
}

// The compartments a kiosk announces: 1..n, small, in one column.
function layout(count) {
  return Array.from({ length: count }, (_, i) => ({
    number: i + 1,
    size: 'COMPARTMENT_SIZE_S',
    column: 1,
    row: i + 1,
    height_class: 'HEIGHT_CLASS_STANDARD',
    state: 'COMPARTMENT_STATE_FREE',
  }));
}

const COMMANDS = {
  async 'create-order'(registry, v) {
    return registry.office.CreatePickupOrder({
      request_id: v['request-id'] || client.requestId(),
      reference: v.reference,
      kind: v.kind,
      size: v.size,
      kiosk_id: v.kiosk,
      pin: v.pin,
      contact: v.contact,
    });
  },
  async 'get-order'(registry, v, [reference]) {
    if (!reference) throw new Error('get-order REFERENCE: name the order');
    return registry.office.GetPickupOrder({ reference });
  },
  async 'list-orders'(registry, v) {
    return registry.office.ListPickupOrders({ kiosk_id: v.kiosk, statuses: v.status });
  },
  async 'send-command'(registry, v) {
    return registry.office.SendKioskCommand({
      request_id: v['request-id'] || client.requestId(),
      kiosk_id: v.kiosk,
      command: { type: v.type, compartment_number: Number(v.compartment), reason: v.reason },
    });
  },
  async 'register-kiosk'(registry, v) {
    return registry.kiosk.RegisterKiosk({
      kiosk_id: v.kiosk,
      software_version: 'node-example/1.0',
      compartments: layout(Number(v.compartments)),
    });
  },
  async heartbeat(registry, v) {
    return registry.kiosk.Heartbeat({
      kiosk_id: v.kiosk,
      devices: [{ device: 'locker_bank', status: 'DEVICE_STATUS_OK', detail: '' }],
      outbox_backlog: 0,
      compartments: layout(Number(v.compartments)),
    });
  },
  // Prints each command as it arrives, until --count have come; with --ack
  // acknowledges them (the registry sends unacknowledged ones again on every
  // new stream, so a kiosk acknowledges what it has carried out).
  async 'stream-commands'(registry, v) {
    const stream = registry.kiosk.StreamCommands({ kiosk_id: v.kiosk });
    const received = [];
    try {
      for await (const { command } of stream) {
        print({ command });
        received.push(command.command_id);
        if (received.length >= Number(v.count)) break;
      }
    } finally {
      stream.cancel();
    }
    if (v.ack) {
      await registry.kiosk.AcknowledgeCommands({ kiosk_id: v.kiosk, command_ids: received });
    }
    return { received, acknowledged: v.ack ? received : [] };
  },
};

async function main(argv) {
  const { values, positionals } = parseArgs({ args: argv, options: OPTIONS,
    allowPositionals: true });
  const [name, ...rest] = positionals;
  const command = COMMANDS[name];
  if (!command || values.help) {
    const options = Object.keys(OPTIONS).map((o) => `--${o}`).join(' ');
    process.stderr.write(`usage: pickupbox.js [${options}]\n`
      + `    ${Object.keys(COMMANDS).join(' | ')}\n(see README.md)\n`);
    return values.help ? 0 : 64;
  }
  const registry = client.connect({
    address: values.address,
    token: token(values),
    user: values.user,
    password: process.env.PICKUPBOX_PASSWORD,
    ca: client.readFileIfGiven(values.ca),
    cert: client.readFileIfGiven(values.cert),
    key: client.readFileIfGiven(values.key),
    plaintext: values.plaintext,
  });
  try {
    print(await command(registry, values, rest));
    return 0;
  } catch (error) {
    if (error.code === undefined) throw error; // not a gRPC status: a bug or bad input
    const info = client.errorInfo(error) || {};
    print({ error: { code: error.code, message: error.details, ...info } });
    return 2;
  } finally {
    registry.close();
  }
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (error) => {
  process.stderr.write(`pickupbox.js: ${error.message}\n`);
  process.exitCode = 1;
});
