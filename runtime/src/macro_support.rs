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

/// What an instrumented function returned, for the autoref dispatch that decides from the real
/// type whether it failed: a `Result` (also through an alias, a re-export or `anyhow::Result`)
/// closes with its `Ok` or its `Err`; any other value closes as a success.
pub struct Outcome<'a, T: ?Sized>(pub &'a T);

/// An error that can be sent in a failed tool call or run.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as an error: it does not implement `std::fmt::Display`",
    label = "the error this returns is sent in the failure event",
    note = "implement `Display` for it, or send it with `Debug` with the `debug` option"
)]
pub trait ErrorText {
    /// The error as sent.
    fn error_text(&self) -> String;
}

impl<T: fmt::Display + ?Sized> ErrorText for T {
    fn error_text(&self) -> String {
        crate::json::display_of(self)
    }
}

/// An error that can be sent with `Debug` (the `debug` option).
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be sent as an error: it does not implement `std::fmt::Debug`",
    label = "the error this returns is sent in the failure event",
    note = "derive `Debug` for it, or drop the `debug` option to send it with `Display`"
)]
pub trait ErrorDebugText {
    /// The error as sent.
    fn error_debug_text(&self) -> String;
}

impl<T: fmt::Debug + ?Sized> ErrorDebugText for T {
    fn error_debug_text(&self) -> String {
        crate::json::text_of(|| format!("{self:?}"))
    }
}

/// Closes a `Result` outcome. Implemented one reference deeper than [`PlainOutcome`], so method
/// lookup on `&&Outcome(&value)` finds it first whenever the value is a `Result`. The `_debug`
/// methods send the error with `Debug` (the `debug` option), the others with `Display`.
pub trait ResultOutcome<T, E> {
    /// Closes the tool call: completed with the rendered `Ok`, or failed with the `Err`.
    fn close_tool(self, call: ToolCall, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorText;
    /// Closes the run: completed with the rendered `Ok`, or failed with the `Err`.
    fn close_run(self, run: Run, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorText;
    /// [`ResultOutcome::close_tool`], the error sent with `Debug`.
    fn close_tool_debug(self, call: ToolCall, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorDebugText;
    /// [`ResultOutcome::close_run`], the error sent with `Debug`.
    fn close_run_debug(self, run: Run, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorDebugText;
}

/// Closes a tool call with a `Result`: completed with the rendered `Ok`, or failed with the
/// `Err`'s text.
fn close_tool_with<T, E>(
    result: &Result<T, E>,
    call: ToolCall,
    render: impl FnOnce(&T) -> Value,
    text: impl FnOnce(&E) -> String,
) {
    match result {
        Ok(value) => tool_ok(call, render(value)),
        Err(error) => call.failed(text(error)),
    }
}

/// Closes a run with a `Result`, as [`close_tool_with`] closes a tool call.
fn close_run_with<T, E>(
    result: &Result<T, E>,
    run: Run,
    render: impl FnOnce(&T) -> Value,
    text: impl FnOnce(&E) -> String,
) {
    match result {
        Ok(value) => run_ok(run, render(value)),
        Err(error) => run.failed(text(error)),
    }
}

impl<T, E> ResultOutcome<T, E> for &&Outcome<'_, Result<T, E>> {
    fn close_tool(self, call: ToolCall, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorText,
    {
        close_tool_with(self.0, call, render, |e| e.error_text());
    }

    fn close_run(self, run: Run, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorText,
    {
        close_run_with(self.0, run, render, |e| e.error_text());
    }

    fn close_tool_debug(self, call: ToolCall, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorDebugText,
    {
        close_tool_with(self.0, call, render, |e| e.error_debug_text());
    }

    fn close_run_debug(self, run: Run, render: impl FnOnce(&T) -> Value)
    where
        E: ErrorDebugText,
    {
        close_run_with(self.0, run, render, |e| e.error_debug_text());
    }
}

/// Closes any other outcome as a success (the `_debug` methods are the same: there is no error).
pub trait PlainOutcome<T: ?Sized> {
    /// Completes the tool call with the rendered value.
    fn close_tool(self, call: ToolCall, render: impl FnOnce(&T) -> Value);
    /// Completes the run with the rendered value.
    fn close_run(self, run: Run, render: impl FnOnce(&T) -> Value);
    /// [`PlainOutcome::close_tool`].
    fn close_tool_debug(self, call: ToolCall, render: impl FnOnce(&T) -> Value);
    /// [`PlainOutcome::close_run`].
    fn close_run_debug(self, run: Run, render: impl FnOnce(&T) -> Value);
}

impl<T: ?Sized> PlainOutcome<T> for &Outcome<'_, T> {
    fn close_tool(self, call: ToolCall, render: impl FnOnce(&T) -> Value) {
        tool_ok(call, render(self.0));
    }

    fn close_run(self, run: Run, render: impl FnOnce(&T) -> Value) {
        run_ok(run, render(self.0));
    }

    fn close_tool_debug(self, call: ToolCall, render: impl FnOnce(&T) -> Value) {
        self.close_tool(call, render);
    }

    fn close_run_debug(self, run: Run, render: impl FnOnce(&T) -> Value) {
        self.close_run(run, render);
    }
}

/// A `Result` type: what the `err` option requires.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a `Result`, and `err` says the function returns one",
    label = "this is what the function returns",
    note = "remove `err`: whether a function fails is read from its return type"
)]
pub trait IsResult {}

impl<T, E> IsResult for Result<T, E> {}

/// The check the `err` option adds: the function returns a `Result`.
pub trait ForcedResult<T: ?Sized> {
    /// Compiles only for a `Result`.
    fn forced_result(&self)
    where
        T: IsResult;
}

impl<T: ?Sized> ForcedResult<T> for Outcome<'_, T> {
    fn forced_result(&self)
    where
        T: IsResult,
    {
    }
}

/// An instrumented async body, typed with its function's return type (so that `?` inside it
/// converts to that type).
pub fn future_of<T, F: std::future::Future<Output = T>>(body: F) -> F {
    body
}

/// Runs an instrumented sync body once (as an `FnOnce`, so that it may return a borrow of what
/// it captured).
pub fn call_once<T>(body: impl FnOnce() -> T) -> T {
    body()
}

/// A returned value to render as `results` / `result`.
pub struct Shown<'a, T: ?Sized>(pub &'a T);

/// How a returned value is rendered: serialised (the default), with `Display` (the `display`
/// option) or with `Debug` (the `debug` option). Methods with the bound on them, so that a type
/// without it is reported at the method's name (the function's return type).
pub trait Show<T: ?Sized> {
    /// Serialised.
    fn serialized(self) -> Value
    where
        T: Rendered;
    /// With `Display`.
    fn displayed(self) -> Value
    where
        T: fmt::Display;
    /// With `Debug`.
    fn debugged(self) -> Value
    where
        T: fmt::Debug;
}

impl<T: ?Sized> Show<T> for Shown<'_, T> {
    fn serialized(self) -> Value
    where
        T: Rendered,
    {
        self.0.rendered()
    }

    fn displayed(self) -> Value
    where
        T: fmt::Display,
    {
        Value::String(crate::json::display_of(self.0))
    }

    fn debugged(self) -> Value
    where
        T: fmt::Debug,
    {
        Value::String(crate::json::text_of(|| format!("{:?}", self.0)))
    }
}

/// Builds `parameters` from `(name, value)` pairs gathered one by one.
pub fn parameter_list(pairs: Vec<(&'static str, Value)>) -> Value {
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
