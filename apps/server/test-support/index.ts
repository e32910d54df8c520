// @instances-api/server/test-support: the doubles of the outside world, for the server's tests and
// tests/e2e, and the shape of an organization grown large (for the plan check and the scale suite),
// in one place: a vendor's API (over TLS by default, scripted per route or with one
// handler, SugarCRM's and Freshservice's answers and records ready-made), a receiver of events, and endpoints
// that fail a TLS client in each way. All listen on 127.0.0.1 only. Built to dist/test-support
// beside the server, and kept out of its tarball (package.json "files").
export {
  answerJson,
  closeSocket,
  endlessBody,
  fakeSugarcrm,
  fakeSugarcrmHooks,
  fakeSugarcrmRecords,
  sugarDate,
  freshserviceAnswer,
  fakeFreshserviceLists,
  freshserviceDate,
  goodPassword,
  hang,
  redirectTo,
  startFakeVendor,
  startSilentListener,
  type FakeAnswer,
  type FakeVendor,
  type FakeVendorOptions,
  type FreshserviceTicket,
  type RecordedRequest,
  type SilentListener,
  type SugarHook,
  type SugarRecord,
  type VendorHandler,
  type WritingHandler,
} from "./fake-vendor.js";
export {
  eventEnv,
  startEventReceiver,
  type Behaviour,
  type EventReceiver,
  type EventReceiverOptions,
  type Received,
} from "./event-receiver.js";
export * as unansweringEndpoints from "./unanswering-endpoints.js";
export type { Endpoint } from "./unanswering-endpoints.js";
export {
  copyInstancesSql,
  deepCursorIdSql,
  scaleConnectors,
  scaleReads,
  scaleTags,
  type ScaleDialect,
  type ScaleIndex,
  type ScaleRead,
} from "./scale-shapes.js";
