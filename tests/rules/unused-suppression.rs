//! `unused-suppression`: suppression comments that suppress nothing. The tests run this file with
//! `user-emitter-call` and `deprecated-api` selected too, the rules its suppressions name.
// agent-events: allow-file(deprecated-api) -- silent: used, the nightly jobs keep the old notifier until the port

use crate::notifier::WebSocketNotifier;
use crate::user_emitter::UserEmitter;

/// Doc comments are never suppressions: agent-events: allow(user-emitter-call) silent: a doc comment
pub struct NightlyJob {
    emitter: UserEmitter,
    notifier: WebSocketNotifier,
}

impl NightlyJob {
    pub async fn start(&self) {
        let _ = self.emitter.notify_agent_started("nightly").await; // agent-events: allow(user-emitter-call) -- silent: used, migrated in #12
        // agent-events: allow(user-emitter-call) -- silent: used by the next line of code
        // (the mobile app reads these frames until v2.4)
        let _ = self.emitter.notify_agent_thinking("Loading the warehouse").await;
    }

    pub async fn finish(&self, rows: usize) -> usize {
        let total = rows * 2; // agent-events: allow(user-emitter-call) -- left over from the migration // expect: unused-suppression
        // agent-events: allow(user-emitter-call) -- the call below was migrated // expect: unused-suppression
        let summary = format!("{total} rows");
        let _ = self.emitter.notify_agent_completed(&summary).await; // agent-events: allow(user-emitter-call, deprecated-api) -- half stale // expect: unused-suppression
        total
    }

    pub async fn fail(&self, error: &str) {
        let _ = self.emitter.notify_agent_error(error).await; // agent-events: allow(user-emiter-call) -- a typo // expect: unused-suppression, user-emitter-call
        let _ = self.notifier.send_agent_completed(error).await; // agent-events: alow(user-emitter-call) -- misspelt // expect: unused-suppression
    }

    pub fn describe(&self) -> &'static str {
        "add `// agent-events: allow(user-emitter-call)` to keep a call" // silent: a string, not a comment
    }

    pub fn connections(&self) -> usize {
        0 // agent-events: allow(unscoped-broadcast) -- silent: that rule is not selected in this run, so its suppressions are not judged
    }
}

// agent-events: allow-file(user-emitter-call) -- too late: only the first comment block can hold it // expect: unused-suppression
