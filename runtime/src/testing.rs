//! The test kit: a recorder sink and assertions of every invariant a run must satisfy.
//!
//! Use it in your own "every event arrives" suites:
//!
//! ```
//! use agent_events::{EventBridge, RunContext, testing::Recorder};
//!
//! let recorder = Recorder::new();
//! let bridge = EventBridge::builder().sink(recorder.clone()).build();
//! let run = bridge.start_run(RunContext::new("u1", "t1", "agent"));
//! let call = run.tool_executing("search", ());
//! drop(call); // a tool that never finished
//! drop(run);  // a run nobody closed
//! recorder.assert_invariants(); // still paired and closed, by the guards
//! assert_eq!(recorder.types(), ["agent_started", "tool_executing", "tool_completed", "agent_completed"]);
//! ```
//!
//! Invariants checked for every run seen ([`check_invariants`]): exactly one `agent_started`,
//! first, with `seq` 1; exactly one `agent_completed`, last; every `tool_executing` followed by
//! exactly one `tool_completed` with the same `tool_call_id` and `tool_name` before
//! `agent_completed`, and no `tool_completed` without one; `seq` 1, 2, 3… with no gap;
//! one `user_id`, `thread_id` and `agent_name` per run; every event valid against the schema;
//! every `event_id` unique.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};

use agent_events_schema::{validate_allowing_custom, Event, EventType, Payload};

use crate::sink::{EventSink, SinkError};
use crate::sync::lock;

/// A sink that keeps every event in memory, in delivery order. Cheap to clone; clones share
/// the events.
#[derive(Clone, Default)]
pub struct Recorder {
    events: Arc<Mutex<Vec<Arc<Event>>>>,
}

impl Recorder {
    /// An empty recorder.
    pub fn new() -> Self {
        Recorder::default()
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Arc<Event>>> {
        lock(&self.events)
    }

    /// Every event so far.
    pub fn events(&self) -> Vec<Arc<Event>> {
        self.lock().clone()
    }

    /// The events of one run.
    pub fn events_of_run(&self, run_id: &str) -> Vec<Arc<Event>> {
        self.lock().iter().filter(|e| &*e.envelope.run_id == run_id).cloned().collect()
    }

    /// The wire types of every event so far, e.g. `["agent_started", …]`.
    pub fn types(&self) -> Vec<String> {
        self.lock().iter().map(|e| e.type_name().to_owned()).collect()
    }

    /// The wire types of one run's events.
    pub fn types_of_run(&self, run_id: &str) -> Vec<String> {
        self.events_of_run(run_id).iter().map(|e| e.type_name().to_owned()).collect()
    }

    /// The run ids seen, in order of first event.
    pub fn run_ids(&self) -> Vec<String> {
        let mut seen = HashSet::new();
        self.lock()
            .iter()
            .filter(|e| seen.insert(e.envelope.run_id.clone()))
            .map(|e| e.envelope.run_id.to_string())
            .collect()
    }

    /// How many events were recorded.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }

    /// Forgets every event.
    pub fn clear(&self) {
        self.lock().clear();
    }

    /// Checks every invariant on everything recorded.
    pub fn check_invariants(&self) -> Result<(), Vec<Violation>> {
        check_invariants(&self.events())
    }

    /// Panics listing every broken invariant, if any.
    #[track_caller]
    pub fn assert_invariants(&self) {
        assert_invariants(&self.events());
    }
}

impl EventSink for Recorder {
    fn deliver(&self, event: &Arc<Event>) -> Result<(), SinkError> {
        self.lock().push(event.clone());
        Ok(())
    }
}

/// Which invariant an event broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Rule {
    /// The run's first event is `agent_started`, with `seq` 1.
    StartedFirst,
    /// A run has exactly one `agent_started`.
    SingleStart,
    /// A run has exactly one `agent_completed`.
    SingleCompletion,
    /// `agent_completed` is the run's last event.
    CompletedLast,
    /// Every `tool_executing` is followed by exactly one `tool_completed` with its id.
    ToolPaired,
    /// `seq` is 1, 2, 3… within a run.
    SeqOrder,
    /// A run's events carry one user, thread and agent.
    SameIdentity,
    /// Every event is valid against the schema.
    Schema,
    /// Every `event_id` is unique.
    UniqueEventId,
    /// An event reached a subscriber of another user.
    OtherUser,
}

impl Rule {
    /// A short name used in messages, e.g. `tool-paired`.
    pub fn name(self) -> &'static str {
        match self {
            Rule::StartedFirst => "started-first",
            Rule::SingleStart => "single-start",
            Rule::SingleCompletion => "single-completion",
            Rule::CompletedLast => "completed-last",
            Rule::ToolPaired => "tool-paired",
            Rule::SeqOrder => "seq-order",
            Rule::SameIdentity => "same-identity",
            Rule::Schema => "schema",
            Rule::UniqueEventId => "unique-event-id",
            Rule::OtherUser => "other-user",
        }
    }
}

/// One broken invariant, naming the run, the event and the rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// The rule broken.
    pub rule: Rule,
    /// The run.
    pub run_id: String,
    /// The event's `seq`, when the violation is about one event.
    pub seq: Option<u64>,
    /// The event's type, when the violation is about one event.
    pub event_type: Option<String>,
    /// What is wrong.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}] run `{}`", self.rule.name(), self.run_id)?;
        if let (Some(seq), Some(ty)) = (self.seq, &self.event_type) {
            write!(f, ", event seq {seq} `{ty}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

fn violation(rule: Rule, event: &Event, message: impl Into<String>) -> Violation {
    Violation {
        rule,
        run_id: event.envelope.run_id.to_string(),
        seq: Some(event.envelope.seq),
        event_type: Some(event.type_name().to_owned()),
        message: message.into(),
    }
}

/// Checks every invariant for every run among `events` (in the order they were delivered;
/// runs may interleave). Returns every violation found.
pub fn check_invariants<E: AsRef<Event>>(events: &[E]) -> Result<(), Vec<Violation>> {
    let mut violations = Vec::new();
    let mut ids = HashSet::new();
    let mut runs: Vec<(&str, Vec<&Event>)> = Vec::new();
    let mut index: HashMap<&str, usize> = HashMap::new();
    for event in events.iter().map(AsRef::as_ref) {
        if !ids.insert(&*event.envelope.event_id) {
            violations.push(violation(
                Rule::UniqueEventId,
                event,
                format!("event_id `{}` was already used", event.envelope.event_id),
            ));
        }
        if let Err(e) = validate_allowing_custom(&event.to_value()) {
            violations.push(violation(Rule::Schema, event, e.to_string()));
        }
        let run_id = &*event.envelope.run_id;
        let i = *index.entry(run_id).or_insert_with(|| {
            runs.push((run_id, Vec::new()));
            runs.len() - 1
        });
        runs[i].1.push(event);
    }
    for (run_id, run_events) in &runs {
        check_run(run_id, run_events, &mut violations);
    }
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

fn check_run(run_id: &str, events: &[&Event], out: &mut Vec<Violation>) {
    let first = events[0];
    if first.event_type() != Some(EventType::AgentStarted) {
        out.push(violation(Rule::StartedFirst, first, "the run's first event is not `agent_started`"));
    }
    let mut expected_seq = 1;
    let mut started = 0;
    let mut completed_at: Option<u64> = None;
    let mut open: HashMap<&str, &str> = HashMap::new();
    for event in events {
        let env = &event.envelope;
        if env.seq != expected_seq {
            out.push(violation(Rule::SeqOrder, event, format!("expected seq {expected_seq}")));
        }
        expected_seq = env.seq + 1;
        if (&env.user_id, &env.thread_id, &env.agent_name)
            != (&first.envelope.user_id, &first.envelope.thread_id, &first.envelope.agent_name)
        {
            out.push(violation(
                Rule::SameIdentity,
                event,
                format!(
                    "user/thread/agent `{}`/`{}`/`{}` differ from the run's first event",
                    env.user_id, env.thread_id, env.agent_name
                ),
            ));
        }
        if let Some(at) = completed_at {
            out.push(violation(
                Rule::CompletedLast,
                event,
                format!("sent after `agent_completed` (seq {at})"),
            ));
        }
        match &event.payload {
            Payload::AgentStarted(_) => {
                started += 1;
                let second = started > 1;
                if second {
                    out.push(violation(Rule::SingleStart, event, "a second `agent_started`"));
                }
            }
            Payload::ToolExecuting(e) => {
                let already_open = open.insert(&e.tool_call_id, &e.tool_name).is_some();
                if already_open {
                    out.push(violation(
                        Rule::ToolPaired,
                        event,
                        format!("tool_call_id `{}` is already open", e.tool_call_id),
                    ));
                }
            }
            Payload::ToolCompleted(e) => match open.remove(e.tool_call_id.as_str()) {
                None => out.push(violation(
                    Rule::ToolPaired,
                    event,
                    format!("no open `tool_executing` with tool_call_id `{}`", e.tool_call_id),
                )),
                Some(name) if name != e.tool_name => out.push(violation(
                    Rule::ToolPaired,
                    event,
                    format!("tool_name `{}` differs from its tool_executing's `{name}`", e.tool_name),
                )),
                Some(_) => {}
            },
            Payload::AgentCompleted(_) => {
                if completed_at.is_some() {
                    out.push(violation(Rule::SingleCompletion, event, "a second `agent_completed`"));
                }
                for (id, name) in open.drain() {
                    out.push(violation(
                        Rule::ToolPaired,
                        event,
                        format!("tool call `{id}` ({name}) has no `tool_completed` before `agent_completed`"),
                    ));
                }
                completed_at = Some(env.seq);
            }
            _ => {}
        }
    }
    if completed_at.is_none() {
        out.push(Violation {
            rule: Rule::SingleCompletion,
            run_id: run_id.to_owned(),
            seq: None,
            event_type: None,
            message: format!("the run has no `agent_completed` after {} events", events.len()),
        });
    }
}

/// Panics listing every broken invariant, if any.
#[track_caller]
pub fn assert_invariants<E: AsRef<Event>>(events: &[E]) {
    if let Err(violations) = check_invariants(events) {
        panic!("{}", describe(&violations));
    }
}

/// Checks that every event belongs to `user_id` (what one user's subscriber received).
pub fn check_user_scoped<E: AsRef<Event>>(user_id: &str, events: &[E]) -> Result<(), Vec<Violation>> {
    let violations: Vec<Violation> = events
        .iter()
        .map(AsRef::as_ref)
        .filter(|e| &*e.envelope.user_id != user_id)
        .map(|e| {
            violation(
                Rule::OtherUser,
                e,
                format!("belongs to user `{}`, delivered to `{user_id}`", e.envelope.user_id),
            )
        })
        .collect();
    if violations.is_empty() {
        Ok(())
    } else {
        Err(violations)
    }
}

fn describe(violations: &[Violation]) -> String {
    let mut text = format!("{} agent-event invariant(s) broken:", violations.len());
    for v in violations {
        text.push_str("\n  ");
        text.push_str(&v.to_string());
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use agent_events_schema::{
        AgentCompleted, AgentStarted, Envelope, ToolCompleted, ToolExecuting, UserMessage,
    };

    fn ev(seq: u64, payload: Payload) -> Event {
        Event::new(Envelope::new("u", "t", "r", "a", seq, format!("e{seq}"), 1.0), payload)
    }

    fn done() -> Payload {
        Payload::AgentCompleted(AgentCompleted { final_response: None, success: true, ..Default::default() })
    }

    fn rules(events: &[Event]) -> Vec<Rule> {
        check_invariants(events).err().unwrap_or_default().into_iter().map(|v| v.rule).collect()
    }

    #[test]
    fn a_well_formed_run_passes() {
        let events = [
            ev(1, Payload::AgentStarted(AgentStarted::default())),
            ev(2, Payload::ToolExecuting(ToolExecuting::new("s", "c"))),
            ev(3, Payload::ToolCompleted(ToolCompleted::succeeded("s", "c", 1.into()))),
            ev(4, done()),
        ];
        assert_eq!(check_invariants(&events), Ok(()));
    }

    #[test]
    fn each_rule_is_named_when_broken() {
        let unpaired = [
            ev(1, Payload::AgentStarted(AgentStarted::default())),
            ev(2, Payload::ToolExecuting(ToolExecuting::new("s", "c"))),
            ev(3, done()),
        ];
        assert_eq!(rules(&unpaired), [Rule::ToolPaired]);
        let err = check_invariants(&unpaired).unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "[tool-paired] run `r`, event seq 3 `agent_completed`: tool call `c` (s) has no `tool_completed` before `agent_completed`"
        );
        let no_start = [ev(1, Payload::UserMessage(UserMessage { content: "x".into() })), ev(2, done())];
        assert_eq!(rules(&no_start), [Rule::StartedFirst]);
        let after = [ev(1, Payload::AgentStarted(AgentStarted::default())), ev(2, done()), ev(3, done())];
        assert_eq!(rules(&after), [Rule::CompletedLast, Rule::SingleCompletion]);
        let gap = [ev(1, Payload::AgentStarted(AgentStarted::default())), ev(3, done())];
        assert_eq!(rules(&gap), [Rule::SeqOrder]);
        let open = [ev(1, Payload::AgentStarted(AgentStarted::default()))];
        assert_eq!(rules(&open), [Rule::SingleCompletion]);
        let dup = [ev(1, Payload::AgentStarted(AgentStarted::default())), ev(1, done())];
        assert!(rules(&dup).contains(&Rule::UniqueEventId));
    }

    #[test]
    fn other_users_events_are_named() {
        let events = [ev(1, Payload::AgentStarted(AgentStarted::default()))];
        assert_eq!(check_user_scoped("u", &events), Ok(()));
        let err = check_user_scoped("v", &events).unwrap_err();
        assert_eq!(
            err[0].to_string(),
            "[other-user] run `r`, event seq 1 `agent_started`: belongs to user `u`, delivered to `v`"
        );
    }
}
