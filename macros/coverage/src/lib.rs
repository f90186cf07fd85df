//! Every macro of `agent-events` on every kind of function a Rust user writes, in a crate that
//! denies every warning and clippy's pedantic and nursery groups: generated code must never
//! trigger a lint in the user's crate. The tests beside it (`tests/coverage.rs`) run each
//! function and check the events it sends.
#![deny(warnings)]
#![deny(clippy::pedantic, clippy::nursery)]

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use agent_events::{agent_events, AgentEvent, Run};
use serde::Serialize;

/// The error the fallible tools return.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotFound(pub String);

impl fmt::Display for NotFound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not found: {}", self.0)
    }
}

impl std::error::Error for NotFound {}

/// A crate's own result type, named as such crates name it.
pub type Found<T> = Result<T, NotFound>;

// ---- free functions ----------------------------------------------------------------------

/// A sync tool.
#[agent_events::tool]
#[must_use]
pub fn add(run: &Run, a: u32, b: u32) -> u32 {
    let _ = run;
    a + b
}

/// An async tool that fails through `?` on an alias of `Result`.
///
/// # Errors
/// When `key` is empty.
#[agent_events::tool]
pub async fn fetch(run: &Run, key: String) -> Found<usize> {
    let _ = run;
    tokio::time::sleep(Duration::from_millis(1)).await;
    let len = check(&key)?;
    Ok(len)
}

fn check(key: &str) -> Found<usize> {
    if key.is_empty() {
        Err(NotFound("an empty key".to_owned()))
    } else {
        Ok(key.len())
    }
}

/// A sync run entry point.
///
/// # Errors
/// When `key` is empty.
#[agent_events::run]
pub fn sync_run(run: Run, key: &str) -> Found<String> {
    let n = add(&run, 1, 2);
    Ok(format!("{key}{n}"))
}

/// An async run entry point that runs a tool.
///
/// # Errors
/// When the tool fails.
#[agent_events::run]
pub async fn async_run(run: Run, key: String) -> Found<String> {
    run.thinking("fetching");
    let len = fetch(&run, key).await?;
    Ok(format!("{len} bytes"))
}

/// The `err` option, with an error sent with `Display`.
///
/// # Errors
/// When `key` is empty.
#[agent_events::tool(err)]
pub fn forced(run: &Run, key: &str) -> Found<usize> {
    let _ = run;
    check(key)
}

/// An error type with only `Debug`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timeout {
    /// After so many milliseconds.
    After(u32),
}

/// The `err` and `debug` options on a run: the error is sent with `Debug`.
///
/// # Errors
/// Always.
#[agent_events::run(err, debug)]
pub async fn timed_out(run: Run, after: u32) -> Result<u32, Timeout> {
    let _ = &run;
    tokio::task::yield_now().await;
    Err(Timeout::After(after))
}

/// Generics with a where clause.
#[agent_events::tool]
pub fn largest<T>(run: &Run, items: Vec<T>) -> Option<T>
where
    T: Ord + Serialize,
{
    let _ = run;
    items.into_iter().max()
}

/// Lifetimes in the arguments and the return type.
#[agent_events::tool]
#[must_use]
pub fn longest<'a>(run: &Run, a: &'a str, b: &'a str) -> &'a str {
    let _ = run;
    if a.len() >= b.len() {
        a
    } else {
        b
    }
}

/// A mutable borrow returned from a mutable borrow.
#[agent_events::tool]
pub fn first_mut<'a>(run: &Run, values: &'a mut [u32]) -> Option<&'a mut u32> {
    let _ = run;
    values.first_mut()
}

/// `impl Trait` arguments: one serialised, one skipped.
#[agent_events::tool(skip(extra))]
pub fn sum_all(
    run: &Run,
    items: impl IntoIterator<Item = u32> + Serialize,
    extra: impl Iterator<Item = u32>,
) -> u32 {
    let _ = run;
    items.into_iter().chain(extra).sum()
}

/// A tool returning nothing.
#[agent_events::tool]
pub async fn log_line(run: &Run, line: String) {
    run.thinking(line);
}

/// Recursion: one tool call per level, each closed before its caller's.
#[agent_events::tool]
#[must_use]
pub fn depth(run: &Run, n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        depth(run, n - 1) + 1
    }
}

/// Async recursion, through a boxed call.
#[agent_events::tool]
pub async fn countdown(run: &Run, n: u32) -> u32 {
    if n == 0 {
        0
    } else {
        Box::pin(countdown(run, n - 1)).await + 1
    }
}

/// An `unsafe fn` tool; the raw pointer is not sent.
///
/// # Safety
/// `value` must point at a live `u32`.
#[agent_events::tool(skip(value))]
pub unsafe fn read_raw(run: &Run, value: *const u32) -> u32 {
    let _ = run;
    // SAFETY: the caller promises `value` points at a live `u32`.
    unsafe { *value }
}

/// An `extern "C"` tool (it takes the run by pointer, as C would).
#[agent_events::tool]
#[must_use]
pub extern "C" fn doubled(run: &Run, value: u32) -> u32 {
    let _ = run;
    value * 2
}

/// A tool that panics.
#[agent_events::tool]
#[must_use]
pub fn explode(run: &Run) -> u32 {
    let _ = run;
    panic!("the tool crashed")
}

/// A tool that never finishes on its own (its future is dropped).
#[agent_events::tool]
pub async fn wait_forever(run: &Run) -> u32 {
    let _ = run;
    tokio::time::sleep(Duration::from_secs(3600)).await;
    1
}

/// A tool that takes its run by value (a clone), to be spawned.
///
/// # Errors
/// When `url` is empty.
#[agent_events::tool]
pub async fn download(run: Run, url: String) -> Result<usize, NotFound> {
    let _ = &run;
    tokio::time::sleep(Duration::from_millis(2)).await;
    if url.is_empty() {
        return Err(NotFound("no url".to_owned()));
    }
    Ok(url.len())
}

// ---- methods -----------------------------------------------------------------------------

/// An agent with every receiver.
#[derive(Debug, Default)]
pub struct Counter {
    /// The count.
    pub count: u32,
}

#[agent_events(name = "counter")]
impl Counter {
    /// `&self`.
    #[tool]
    #[must_use]
    pub fn get(&self, run: &Run) -> u32 {
        let _ = run;
        self.count
    }

    /// `&mut self`, returning `&mut Self` (a builder).
    #[tool(debug)]
    pub fn bump(&mut self, run: &Run, by: u32) -> &mut Self {
        let _ = run;
        self.count += by;
        self
    }

    /// `self`.
    #[tool]
    #[must_use]
    pub fn into_count(self, run: &Run) -> u32 {
        let _ = run;
        self.count
    }

    /// `self: Arc<Self>`, async.
    #[tool]
    pub async fn shared(self: Arc<Self>, run: &Run) -> u32 {
        let _ = run;
        tokio::time::sleep(Duration::from_millis(1)).await;
        self.count
    }

    /// The run entry point, on `&self`.
    ///
    /// # Errors
    /// Never: it is fallible to show a `Result` run.
    #[run]
    pub async fn go(&self, run: Run, by: u32) -> Result<u32, NotFound> {
        let n = Self { count: self.count }.bump(&run, by).get(&run);
        Ok(n)
    }
}

/// A generic impl block.
#[derive(Debug)]
pub struct Store<T> {
    /// The stored items.
    pub items: Vec<T>,
}

#[agent_events]
impl<T> Store<T>
where
    T: Clone + Serialize + Send + Sync,
{
    /// A tool of a generic type.
    #[tool]
    pub fn at(&self, run: &Run, index: usize) -> Option<T> {
        let _ = run;
        self.items.get(index).cloned()
    }

    /// A generic method of a generic type.
    #[tool]
    pub async fn find<K: PartialEq<T> + Serialize + Send + Sync>(&self, run: &Run, key: K) -> Found<usize> {
        let _ = run;
        self.items.iter().position(|item| key == *item).ok_or_else(|| NotFound("the key".to_owned()))
    }
}

// ---- traits ------------------------------------------------------------------------------

/// A trait whose default method is a tool.
pub trait Describe {
    /// The name described.
    fn name(&self) -> String;

    /// A default method instrumented in the trait.
    #[agent_events::tool]
    fn describe(&self, run: &Run) -> String {
        let _ = run;
        format!("I am {}", self.name())
    }
}

impl Describe for Counter {
    fn name(&self) -> String {
        format!("counter at {}", self.count)
    }
}

/// An async trait, implemented with the two attributes in both orders.
#[async_trait::async_trait]
pub trait Search {
    /// Searches.
    async fn search(&self, run: &Run, query: String) -> Vec<String>;
}

/// `#[async_trait]` above `#[agent_events]`.
#[derive(Debug)]
pub struct AsyncTraitFirst;

#[async_trait::async_trait]
#[agent_events]
impl Search for AsyncTraitFirst {
    #[tool]
    async fn search(&self, run: &Run, query: String) -> Vec<String> {
        let _ = run;
        vec![query]
    }
}

/// `#[agent_events]` above `#[async_trait]`.
#[derive(Debug)]
pub struct AgentEventsFirst;

#[agent_events]
#[async_trait::async_trait]
impl Search for AgentEventsFirst {
    #[tool]
    async fn search(&self, run: &Run, query: String) -> Vec<String> {
        let _ = run;
        vec![query.clone(), query]
    }
}

// ---- the derive --------------------------------------------------------------------------

/// A struct with named fields: its fields are the event's fields.
#[derive(Debug, Serialize, AgentEvent)]
pub struct PlanUpdated {
    /// The number of steps.
    pub steps: u32,
}

/// A unit struct: an event with no fields.
#[derive(Debug, Serialize, AgentEvent)]
pub struct Heartbeat;

/// A newtype around a plain value: sent as `value`.
#[derive(Debug, Serialize, AgentEvent)]
pub struct Progress(pub u8);

/// A newtype around a struct: the inner struct's fields (serde's newtype is transparent).
#[derive(Debug, Serialize, AgentEvent)]
pub struct Wrapped(pub PlanUpdated);

/// A tuple struct: its fields as an array, sent as `value`.
#[derive(Debug, Serialize, AgentEvent)]
pub struct Span(pub u32, pub u32);

/// An internally tagged enum: the tag and the variant's fields are the event's fields.
#[derive(Debug, Serialize, AgentEvent)]
#[serde(tag = "phase", rename_all = "snake_case")]
pub enum Stage {
    /// A unit variant.
    Planning,
    /// A struct variant.
    Executing {
        /// The step running.
        step: u32,
    },
}

/// An enum with serde's default (external) tagging: a unit variant is sent as `value`, a data
/// variant as one field named after it.
#[derive(Debug, Serialize, AgentEvent)]
pub enum Mood {
    /// A unit variant.
    Calm,
    /// A newtype variant.
    Busy(u32),
}
