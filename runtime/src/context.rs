//! Who a run belongs to.

use std::sync::Arc;

/// The identity of one agent run: the user who asked, their thread, the run and the agent.
///
/// Agent code never passes a `user_id` to an emit call: every event of a run takes it from
/// here, so an event can only ever reach the user the run belongs to.
///
/// ```
/// use agent_events::RunContext;
///
/// let ctx = RunContext::new("user-42", "thread-7", "data_agent");
/// assert_eq!(ctx.user_id(), "user-42");
/// assert_eq!(ctx.run_id().len(), 36); // a fresh UUID unless one is given
/// let ctx = ctx.with_run_id("run-1");
/// assert_eq!(ctx.run_id(), "run-1");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RunContext {
    pub(crate) user_id: Arc<str>,
    pub(crate) thread_id: Arc<str>,
    pub(crate) run_id: Arc<str>,
    pub(crate) agent_name: Arc<str>,
}

impl RunContext {
    /// A context with a fresh random run id.
    pub fn new(
        user_id: impl Into<Arc<str>>,
        thread_id: impl Into<Arc<str>>,
        agent_name: impl Into<Arc<str>>,
    ) -> Self {
        RunContext {
            user_id: user_id.into(),
            thread_id: thread_id.into(),
            run_id: uuid::Uuid::new_v4().to_string().into(),
            agent_name: agent_name.into(),
        }
    }

    /// The same context with a run id of the caller's choosing (e.g. a database key).
    /// Run ids must be unique: events of two runs with one id cannot be told apart.
    pub fn with_run_id(mut self, run_id: impl Into<Arc<str>>) -> Self {
        self.run_id = run_id.into();
        self
    }

    /// The user the run belongs to.
    pub fn user_id(&self) -> &str {
        &self.user_id
    }

    /// The conversation thread.
    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    /// The run.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// The agent.
    pub fn agent_name(&self) -> &str {
        &self.agent_name
    }
}
