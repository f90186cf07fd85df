//! What the code written by `#[agent_events]`, `#[agent_events::tool]` and `#[agent_events::run]`
//! calls (`#[derive(AgentEvent)]` only implements [`crate::AgentEvent`]). Not a public API: only
//! the macros use it. It is built on the crate's core; no core module calls it.

use std::fmt;

pub use serde_json::{Map, Value};

use crate::json::json_of;
use crate::run::{Run, ToolCall};

/// A value that can be sent in a tool call's `parameters`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a tool parameter: it does not implement `serde::Serialize`",
    label = "this parameter is serialised into the `tool_executing` event",
    note = "derive `serde::Serialize` for it, or leave it out of the event with `#[agent_events::tool(skip(<parameter>))]`"
)]
pub trait ToolParameter {
    /// The parameter as JSON.
    fn to_parameter(&self) -> Value;
}

impl<T: serde::Serialize + ?Sized> ToolParameter for T {
    fn to_parameter(&self) -> Value {
        json_of(self)
    }
}

/// A value that can be sent as a tool's `results` or a run's `result`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as a result: it does not implement `serde::Serialize`",
    label = "the value this returns is serialised into the completion event",
    note = "derive `serde::Serialize` for it, or render it with the `display` or `debug` option"
)]
pub trait Rendered {
    /// The value as JSON.
    fn rendered(&self) -> Value;
}

impl<T: serde::Serialize + ?Sized> Rendered for T {
    fn rendered(&self) -> Value {
        json_of(self)
    }
}

/// Renders with `Display` (the `display` option).
pub fn display<T: fmt::Display + ?Sized>(value: &T) -> Value {
    Value::String(value.to_string())
}

/// Renders with `Debug` (the `debug` option).
pub fn debug<T: fmt::Debug + ?Sized>(value: &T) -> Value {
    Value::String(format!("{value:?}"))
}

/// Builds `parameters` from `(name, value)` pairs.
pub fn parameters<const N: usize>(pairs: [(&'static str, Value); N]) -> Value {
    Value::Object(pairs.into_iter().map(|(k, v)| (k.to_owned(), v)).collect())
}

/// Opens the tool call of an instrumented tool.
pub fn open_tool(run: &Run, tool_name: &'static str, parameters: Value) -> ToolCall {
    run.tool_executing(tool_name, parameters)
}

/// Closes a tool call with a rendered successful value.
pub fn tool_ok(call: ToolCall, results: Value) {
    call.completed(results);
}

/// Closes a tool call as failed.
pub fn tool_err<E: fmt::Display + ?Sized>(call: ToolCall, error: &E) {
    call.failed(error);
}

/// A handle to the run kept by an instrumented run entry point.
pub fn keep_run(run: &Run) -> Run {
    run.clone()
}

/// Closes a run with a rendered successful value: a JSON string is the final response and
/// `null` an empty one, both without `result`; any other value is sent as `result`, with its
/// JSON text as the final response.
pub fn run_ok(run: Run, value: Value) {
    match value {
        Value::String(text) => run.completed(text, ()),
        Value::Null => run.completed("", ()),
        other => run.completed(other.to_string(), other),
    }
}

/// Closes a run as failed.
pub fn run_err<E: fmt::Display + ?Sized>(run: Run, error: &E) {
    run.failed(error);
}
