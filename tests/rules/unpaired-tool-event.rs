//! `unpaired-tool-event`: a `tool_executing` that some path leaves without its `tool_completed`.

use serde_json::{json, Value};

use crate::tools::{ToolError, ToolRegistry};
use crate::user_emitter::UserEmitter;
use crate::websocket::WebSocketManager;

pub struct PlanStep {
    pub tool: String,
    pub args: Value,
    pub optional: bool,
}

pub struct Executor {
    manager: WebSocketManager,
    emitter: UserEmitter,
    tools: ToolRegistry,
    user_id: String,
}

impl Executor {
    pub async fn run_query(&self, sql: &str) -> Result<Value, ToolError> {
        self.manager.send_tool_executing(&self.user_id, "sql_query", &json!({ "sql": sql })).await?; // expect: unpaired-tool-event
        let rows = self.tools.call("sql_query", json!({ "sql": sql })).await?;
        self.manager.send_tool_completed(&self.user_id, "sql_query", &rows).await?;
        Ok(rows)
    }

    pub async fn run_single(&self, tool_name: &str, args: Value) -> Result<Value, ToolError> {
        let _ = self.emitter.notify_tool_executing(tool_name, &args).await; // expect: unpaired-tool-event
        if args.is_null() {
            return Ok(Value::Null);
        }
        let result = self.tools.call(tool_name, args).await.unwrap_or(Value::Null);
        self.emitter.notify_tool_completed(tool_name, &result).await?;
        Ok(result)
    }

    pub async fn run_plan(&self, plan: &[PlanStep]) -> Vec<Value> {
        let mut outputs = Vec::new();
        for step in plan {
            let _ = self.manager.send_tool_executing(&self.user_id, &step.tool, &step.args).await; // expect: unpaired-tool-event
            if step.args.is_null() {
                eprintln!("executor: no arguments for {}, skipping", step.tool);
                continue;
            }
            match self.tools.call(&step.tool, step.args.clone()).await {
                Ok(result) => {
                    let _ = self.manager.send_tool_completed(&self.user_id, &step.tool, &result).await;
                    outputs.push(result);
                }
                Err(_) if step.optional => {
                    let _ = self.manager.send_tool_completed(&self.user_id, &step.tool, &Value::Null).await;
                }
                Err(_) => break,
            }
        }
        outputs
    }

    pub async fn run_until_failure(&self, plan: &[PlanStep]) -> usize {
        let mut done = 0;
        for step in plan {
            let _ = self.manager.send_tool_executing(&self.user_id, &step.tool, &step.args).await; // expect: unpaired-tool-event
            let Ok(result) = self.tools.call(&step.tool, step.args.clone()).await else {
                break;
            };
            let _ = self.manager.send_tool_completed(&self.user_id, &step.tool, &result).await;
            done += 1;
        }
        done
    }

    pub async fn reindex(&self, files: Vec<String>) -> Result<(), ToolError> {
        let params = json!({ "tool_name": "index_files", "count": files.len() });
        let _ = self.manager.send_event(&self.user_id, "tool_executing", params).await; // expect: unpaired-tool-event
        let tools = self.tools.clone();
        let manager = self.manager.clone();
        let user = self.user_id.clone();
        tokio::spawn(async move {
            let results = tools.call("index_files", json!({ "files": files })).await.unwrap_or(Value::Null);
            // silent: the spawned task only completes; its own body is checked on its own
            let data = json!({ "tool_name": "index_files", "results": results, "success": true });
            let _ = manager.send_event(&user, "tool_completed", data).await;
        });
        Ok(())
    }

    pub async fn lookup_schema(&self, table: &str) -> Value {
        let _ = self.manager.send_tool_executing(&self.user_id, "describe_table", &json!({ "table": table })).await; // expect: unpaired-tool-event
        let columns = self.tools.call("describe_table", json!({ "table": table })).await.unwrap_or(Value::Null);
        // the completion names another tool, so `describe_table` is never completed
        let _ = self.manager.send_tool_completed(&self.user_id, "list_tables", &columns).await;
        columns
    }

    pub async fn scan(&self, upload_id: &str) -> Result<(), ToolError> {
        let frame = json!({ "type": "tool_executing", "tool_name": "virus_scan", "tool_call_id": upload_id }); // expect: unpaired-tool-event
        self.manager.send_to_user(&self.user_id, frame).await?;
        Ok(())
    }

    pub async fn run_reported(&self, tool_name: &str, args: Value) -> Result<Value, ToolError> {
        if let Err(e) = self.emitter.notify_tool_executing(tool_name, &args).await { // silent: completed on every path below
            eprintln!("tool_executing for {tool_name} not delivered: {e}");
        }
        match self.tools.call(tool_name, args).await {
            Ok(result) => {
                let _ = self.emitter.notify_tool_completed(tool_name, &result).await;
                Ok(result)
            }
            Err(e) => {
                let _ = self.emitter.notify_tool_completed(tool_name, &json!({ "error": e.to_string() })).await;
                Err(e)
            }
        }
    }

    pub async fn run_with_retry(&self, tool_name: &str, args: Value) -> Value {
        let _ = self.emitter.notify_tool_executing(tool_name, &args).await; // silent: the loop's exits stay inside the function
        let mut attempt = 0;
        let value = loop {
            attempt += 1;
            match self.tools.call(tool_name, args.clone()).await {
                Ok(value) => break value,
                Err(_) if attempt < 3 => continue,
                Err(e) => break json!({ "error": e.to_string() }),
            }
        };
        let _ = self.emitter.notify_tool_completed(tool_name, &value).await;
        value
    }

    pub async fn run_checked(&self, tool_name: &str, args: Value) -> Result<Value, ToolError> {
        self.validate(&args)?; // silent: the `?` comes before the tool starts
        let _ = self.emitter.notify_tool_executing(tool_name, &args).await;
        // silent: a panic here is the runtime guard's job, not this rule's
        let result = self.tools.call(tool_name, args).await.expect("validated arguments");
        let _ = self.emitter.notify_tool_completed(tool_name, &result).await;
        Ok(result)
    }

    fn validate(&self, args: &Value) -> Result<(), ToolError> {
        if args.is_object() {
            Ok(())
        } else {
            Err(ToolError::InvalidArgs("not an object".into()))
        }
    }

    /// The emission itself: its callers are the ones that must pair it.
    pub async fn send_tool_executing(&self, tool_name: &str) -> Result<(), ToolError> { // silent: a wrapper
        self.manager.send_tool_executing(&self.user_id, tool_name, &Value::Null).await?;
        Ok(())
    }
}

pub async fn search(run: &agent_events::Run, tools: &ToolRegistry, query: &str) -> Result<Value, ToolError> {
    let call = run.tool_executing("search", json!({ "query": query })); // silent: the canonical guard completes it
    let hits = tools.call("search", json!({ "query": query })).await?;
    call.completed(hits.clone());
    Ok(hits)
}

/// Seen in real code: both sends under the same guard, and a dispatcher.
pub struct GuardedRunner {
    bridge: Option<WebSocketManager>,
    other_bridge: Option<WebSocketManager>,
}

impl GuardedRunner {
    pub async fn run_tool(&self, tool: &str) -> Value {
        if let Some(bridge) = &self.bridge {
            bridge.send_tool_executing(tool).await; // silent: completed under the same guard
        }
        let result = run(tool).await;
        if let Some(bridge) = &self.bridge {
            bridge.send_tool_completed(tool, &result).await;
        }
        result
    }

    pub async fn run_unguarded(&self, tool: &str) -> Value {
        if let Some(bridge) = &self.bridge {
            bridge.send_tool_executing(tool).await; // expect: unpaired-tool-event
        }
        let result = run(tool).await;
        if let Some(bridge) = &self.other_bridge {
            bridge.send_tool_completed(tool, &result).await;
        }
        result
    }

    pub async fn send_event(&self, event_type: &str, tool: &str) {
        // silent: a dispatcher sends the one event it is asked for
        match event_type {
            "tool_executing" => self.ws().send_tool_executing(tool).await,
            "tool_completed" => self.ws().send_tool_completed(tool).await,
            _ => {}
        }
    }
}

pub async fn simulate_work(runner: &GuardedRunner, stream_updates: bool) {
    if stream_updates && runner.streaming {
        runner.ws().send_tool_executing("optimizer").await; // silent: the same condition
    }
    pause().await;
    if stream_updates && runner.streaming {
        runner.ws().send_tool_completed("optimizer").await;
    }
}
