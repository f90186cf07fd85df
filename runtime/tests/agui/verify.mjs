// Checks a stream of AG-UI events with the real AG-UI packages, the way a client would see it.
//
//   node verify.mjs [--json] [FILE]      (no FILE, or "-": read standard input)
//
// FILE holds one JSON array of AG-UI events: one run, or several runs one after another (a
// thread). Three checks, each done by the AG-UI packages themselves, never re-implemented here:
//
// 1. schema:   every event parses with the zod schema of `@ag-ui/core/schemas` (`EventSchemas`);
// 2. protocol: the whole sequence passes `verifyEvents` from `@ag-ui/client` (an rxjs operator
//              that throws on a protocol violation: content before its start, a tool call end
//              without a start, events after RUN_FINISHED / RUN_ERROR, RUN_FINISHED while a
//              message, reasoning span or tool call is still open…);
// 3. client:   each run is replayed through `AbstractAgent.runAgent`, the client's full pipeline
//              (compatibility boundary, enforcement, chunk expansion, verification, the message
//              reducer and its subscribers). Any warning or error the client logs — such as
//              "removed unrecognised material", which means a field AG-UI does not describe —
//              is a failure.
//
// Exit status: 0 when every check passes (prints the count, or with --json a summary: the
// count, each run's outcome and the conversation the client built); 1 on the first violation
// (printed to stderr with the stage and the event's index); 2 when the input is not a JSON
// array of objects.

import { readFileSync } from "node:fs";
import { EventSchemas } from "@ag-ui/core/schemas";
import { AbstractAgent, verifyEvents } from "@ag-ui/client";
import { from, lastValueFrom, tap, toArray } from "rxjs";

const args = process.argv.slice(2);
const json = args.includes("--json");
const files = args.filter((a) => a !== "--json");
if (files.length > 1) {
  usage(`expected at most one FILE, got ${files.length}`);
}

function usage(message) {
  process.stderr.write(`verify.mjs: ${message}\nusage: node verify.mjs [--json] [FILE]\n`);
  process.exit(2);
}

function fail(stage, message) {
  process.stderr.write(`AG-UI ${stage} check failed: ${message}\n`);
  process.exit(1);
}

function describe(event, index) {
  return `event #${index} (${JSON.stringify(event?.type)}): ${JSON.stringify(event)}`;
}

const source = files.length === 0 || files[0] === "-" ? 0 : files[0];
let events;
try {
  events = JSON.parse(readFileSync(source, "utf8"));
} catch (e) {
  usage(`cannot read a JSON array from ${source === 0 ? "standard input" : source}: ${e.message}`);
}
if (!Array.isArray(events) || events.some((e) => typeof e !== "object" || e === null || Array.isArray(e))) {
  usage("the input must be a JSON array of event objects");
}

// 1. Each event against the core zod schema.
events.forEach((event, index) => {
  const parsed = EventSchemas.safeParse(event);
  if (!parsed.success) {
    const issues = parsed.error.issues
      .map((i) => `${i.path.length ? i.path.join(".") : "(event)"}: ${i.message}`)
      .join("; ");
    fail("schema", `${describe(event, index)}\n  ${issues}`);
  }
});

// 2. The sequence through the client's protocol verifier.
let seen = 0;
try {
  await lastValueFrom(
    from(events).pipe(
      tap(() => (seen += 1)),
      verifyEvents(),
      toArray(),
    ),
  );
} catch (e) {
  fail("protocol", `${e.message}\n  at ${describe(events[seen - 1], seen - 1)}`);
}

// 3. Each run through the full client pipeline, one agent for the whole thread.
const runs = [];
for (const event of events) {
  if (event.type === "RUN_STARTED" || runs.length === 0) runs.push([]);
  runs[runs.length - 1].push(event);
}

class ReplayAgent extends AbstractAgent {
  constructor(config) {
    super(config);
    this.next = [];
  }
  run() {
    return from(this.next);
  }
}

const logged = [];
for (const level of ["warn", "error"]) {
  const original = console[level];
  console[level] = (...parts) => {
    logged.push(`console.${level}: ${parts.map((p) => (p instanceof Error ? p.message : String(p))).join(" ")}`);
    if (process.env.AGUI_VERIFY_DEBUG) original(...parts);
  };
}

const agent = new ReplayAgent({ threadId: events[0]?.threadId });
const outcomes = [];
for (const run of runs) {
  agent.next = run;
  const outcome = { runId: run[0]?.runId, outcome: "unfinished" };
  const subscriber = {
    onRunFinishedEvent: (params) => {
      outcome.outcome = params.outcome;
      if (params.result !== undefined) outcome.result = params.result;
      if (params.pendingToolCallIds) outcome.pendingToolCallIds = params.pendingToolCallIds;
    },
    onRunErrorEvent: ({ event }) => {
      outcome.outcome = "error";
      outcome.message = event.message;
      if (event.code !== undefined) outcome.code = event.code;
    },
  };
  try {
    await agent.runAgent({ runId: outcome.runId }, subscriber);
  } catch (e) {
    fail("client", `run ${JSON.stringify(outcome.runId)}: ${e.message}`);
  }
  if (logged.length > 0) {
    fail("client", `run ${JSON.stringify(outcome.runId)} made the client log:\n  ${logged.join("\n  ")}`);
  }
  outcomes.push(outcome);
}

if (json) {
  process.stdout.write(
    `${JSON.stringify({ verified: events.length, runs: outcomes, messages: agent.messages })}\n`,
  );
} else {
  process.stdout.write(`verified ${events.length} AG-UI events in ${runs.length} run(s)\n`);
}
