//! Procedural macros for `agent-events`.
//!
//! `#[agent_events]` (emitter calls for agent and tool methods) and `#[derive(AgentEvent)]`
//! (custom event types) land here; the crate exports nothing yet.
