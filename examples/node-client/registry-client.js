'use strict';
// A client of the pickup box registry's gRPC API for Node.js, as an office's
// software (Fachverfahren) or a kiosk vendor would write it.
//
// The service and message code comes from protos/pickupbox/registry/v1/
// registry.proto, read at start-up by @grpc/proto-loader (grpc-js's own way
// of generating clients). Messages are plain objects with the proto's field
// names (snake_case), enums as their names ("DOCUMENT_KIND_ID_CARD"), 64-bit
// integers as strings.
//
//   const { connect } = require('./registry-client');
//   const registry = connect({ address: 'registry.example:50051', token, ca });
//   const { order } = await registry.office.CreatePickupOrder({ ... });
//
// Refused calls reject with the grpc-js error; errorInfo(error) reads the
// google.rpc.ErrorInfo the registry puts in the status details (its `reason`
// is what a program branches on, see the top of registry.proto).

const fs = require('node:fs');
const path = require('node:path');
const crypto = require('node:crypto');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');
const protobuf = require('protobufjs');
const googleProtos = require('google-proto-files');

const REGISTRY_PROTO = 'pickupbox/registry/v1/registry.proto';
const ERROR_DOMAIN = 'registry.pickupbox.v1';
// Where this repository keeps the protos; an office points PICKUPBOX_PROTOS
// at its own copy of protos/.
const DEFAULT_PROTOS = process.env.PICKUPBOX_PROTOS || path.join(__dirname, '..', '..', 'protos');

function loadRegistryApi(protoDir = DEFAULT_PROTOS) {
  const definition = protoLoader.loadSync(REGISTRY_PROTO, {
    includeDirs: [protoDir],
    keepCase: true, // the proto's field names, as the registry's docs use them
    enums: String,
    longs: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).pickupbox.registry.v1;
}

// google.rpc.Status and ErrorInfo, from Google's published protos (the
// google-proto-files package), to decode the grpc-status-details-bin trailer.
const statusTypes = (() => {
  let types;
  return () => {
    if (!types) {
      const root = new protobuf.Root();
      root.resolvePath = (_origin, target) => path.join(googleProtos.getProtoPath(), '..', target);
      root.loadSync(['google/rpc/status.proto', 'google/rpc/error_details.proto']);
      types = {
        Status: root.lookupType('google.rpc.Status'),
        ErrorInfo: root.lookupType('google.rpc.ErrorInfo'),
      };
    }
    return types;
  };
})();

// The registry's ErrorInfo of a failed call: { reason, domain, metadata },
// or null when the status carries none (e.g. a connection failure).
function errorInfo(error) {
  const raw = error && error.metadata && error.metadata.get('grpc-status-details-bin')[0];
  if (!raw) return null;
  const { Status, ErrorInfo } = statusTypes();
  const status = Status.decode(raw);
  for (const detail of status.details) {
    if (detail.type_url === 'type.googleapis.com/google.rpc.ErrorInfo' ||
        detail.typeUrl === 'type.googleapis.com/google.rpc.ErrorInfo') {
      const info = ErrorInfo.toObject(ErrorInfo.decode(detail.value), { defaults: true });
      return { reason: info.reason, domain: info.domain, metadata: info.metadata || {} };
    }
  }
  return null;
}

// The reason to branch on, if the registry sent it (null otherwise).
function errorReason(error) {
  const info = errorInfo(error);
  return info && info.domain === ERROR_DOMAIN ? info.reason : null;
}

// Sends the credential with every call. An interceptor rather than call
// credentials because grpc-js attaches call credentials only over TLS, and
// the registry also accepts credentials over plaintext from loopback (a
// registry on the same host, and the tests).
function authorization(header) {
  return (options, nextCall) => new grpc.InterceptingCall(nextCall(options), {
    start(metadata, listener, next) {
      metadata.set('authorization', header);
      next(metadata, listener);
    },
  });
}

function channelCredentials({ ca, cert, key, plaintext }) {
  if (plaintext) {
    if (ca || cert || key) throw new Error('plaintext takes no TLS files (ca, cert, key)');
    return grpc.credentials.createInsecure();
  }
  if (Boolean(cert) !== Boolean(key)) {
    throw new Error('a client certificate needs both cert and key');
  }
  return grpc.credentials.createSsl(ca || null, key || null, cert || null);
}

// Unary methods as promises; streaming methods as grpc-js returns them
// (a server stream is a Readable: `for await (const message of stream)`).
function promised(client, service) {
  const api = {};
  for (const [name, method] of Object.entries(service.service)) {
    if (method.responseStream) {
      api[name] = (request, metadata = new grpc.Metadata(), options = {}) =>
        client[name](request, metadata, options);
    } else {
      api[name] = (request, options = {}) => new Promise((resolve, reject) => {
        const deadline = new Date(Date.now() + (options.timeoutSeconds || 10) * 1000);
        client[name](request, new grpc.Metadata(), { deadline }, (error, response) =>
          (error ? reject(error) : resolve(response)));
      });
    }
  }
  return api;
}

// Connects to the registry. Give one credential:
//   token     an API key or a kiosk credential ("Bearer"),
//   user/password  a registry user ("Basic"),
//   cert/key  a client certificate (mTLS) bound with `kiosk-registry cert add`
//             or `kiosk enrol --certificate-name`: then no token.
// ca: the CA that signed the registry's certificate (PEM Buffers).
// plaintext: only for a registry on loopback (it refuses credentials over
// plaintext from anywhere else).
function connect({ address, token, user, password, ca, cert, key, plaintext = false,
  protoDir } = {}) {
  if (!address) throw new Error('address: give the registry as host:port');
  if (token && user) throw new Error('give either a token or a user, not both');
  const api = loadRegistryApi(protoDir);
  const interceptors = [];
  if (token) interceptors.push(authorization(`Bearer ${token}`));
  if (user) {
    const pair = Buffer.from(`${user}:${password || ''}`).toString('base64');
    interceptors.push(authorization(`Basic ${pair}`));
  }
  const credentials = channelCredentials({ ca, cert, key, plaintext });
  const office = new api.OfficeService(address, credentials, { interceptors });
  const kiosk = new api.KioskService(address, credentials, { interceptors });
  return {
    office: promised(office, api.OfficeService),
    kiosk: promised(kiosk, api.KioskService),
    close() {
      office.close();
      kiosk.close();
    },
  };
}

// A fresh idempotency key for a mutating call (request_id, AIP-155): keep it
// and send the same one when retrying, so the registry acts only once.
function requestId() {
  return crypto.randomUUID();
}

function readFileIfGiven(file) {
  return file ? fs.readFileSync(file) : undefined;
}

module.exports = {
  connect, errorInfo, errorReason, requestId, readFileIfGiven, loadRegistryApi,
  ERROR_DOMAIN, status: grpc.status,
};
