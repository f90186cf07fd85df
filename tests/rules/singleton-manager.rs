//! `singleton-manager`: process-wide websocket managers and the getters that reach them.

use std::cell::RefCell;
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex, OnceLock};

use lazy_static::lazy_static;
use once_cell::sync::Lazy;

use crate::config::Config;
use crate::context::AgentContext;
use crate::websocket::get_websocket_manager as ws;

#[derive(Default)]
pub struct WebSocketManager {
    connections: Mutex<HashMap<String, usize>>,
}

pub struct AgentWebSocketBridge {
    manager: Arc<WebSocketManager>,
}

static MANAGER: OnceLock<Arc<WebSocketManager>> = OnceLock::new(); // expect: singleton-manager

lazy_static! {
    static ref FALLBACK_MANAGER: Arc<WebSocketManager> = Arc::new(WebSocketManager::default()); // expect: singleton-manager
}

thread_local! {
    static CURRENT_BRIDGE: RefCell<Option<AgentWebSocketBridge>> = RefCell::new(None); // expect: singleton-manager
}

static BRIDGE: OnceLock<Arc<AgentWebSocketBridge>> = OnceLock::new(); // expect: singleton-manager

static NEXT_CALL: AtomicU64 = AtomicU64::new(1); // silent: not a manager type

// silent: one manager per user, keyed by user id (the static holds a map)
static USER_MANAGERS: Lazy<Mutex<HashMap<String, Arc<WebSocketManager>>>> = Lazy::new(Default::default);

/// The process-wide manager.
pub fn get_websocket_manager() -> Arc<WebSocketManager> { // expect: singleton-manager
    MANAGER.get().cloned().unwrap_or_else(|| FALLBACK_MANAGER.clone()) // expect: singleton-manager
}

/// The manager of the request's user.
pub fn get_websocket_manager_for(ctx: &AgentContext) -> Arc<WebSocketManager> { // silent: takes the user context
    let mut managers = USER_MANAGERS.lock().unwrap();
    managers.entry(ctx.user_id.clone()).or_default().clone()
}

impl WebSocketManager {
    pub fn new() -> Self { // silent: builds a new manager, shares nothing
        Self::default()
    }

    /// Shared instance for code that has no context at hand.
    pub fn get_instance() -> Arc<WebSocketManager> { // expect: singleton-manager
        get_websocket_manager() // expect: singleton-manager
    }

    pub fn connection_count(&self) -> usize {
        self.connections.lock().unwrap().values().sum()
    }
}

impl AgentWebSocketBridge {
    pub fn new(manager: Arc<WebSocketManager>) -> Self {
        AgentWebSocketBridge { manager }
    }

    pub fn shared() -> Arc<AgentWebSocketBridge> { // expect: singleton-manager
        BRIDGE.get_or_init(|| Arc::new(AgentWebSocketBridge::new(ws()))).clone() // expect: singleton-manager
    }

    pub fn manager(&self) -> &WebSocketManager {
        &self.manager
    }
}

pub fn connected_sockets() -> usize {
    WebSocketManager::get_instance().connection_count() // expect: singleton-manager
}

pub fn report_bridge() -> Arc<AgentWebSocketBridge> {
    AgentWebSocketBridge::shared() // expect: singleton-manager
}

pub fn install_bridge(bridge: AgentWebSocketBridge) {
    CURRENT_BRIDGE.with(|cell| *cell.borrow_mut() = Some(bridge)); // expect: singleton-manager
}

pub struct AppState {
    pub manager: Arc<WebSocketManager>, // silent: a field, passed down from start-up
}

pub fn per_request(ctx: &AgentContext) -> usize {
    let manager = crate::context::get_websocket_manager(ctx); // silent: the getter takes the user context
    let fresh = Arc::new(WebSocketManager::new()); // silent: a local manager
    manager.connection_count() + fresh.connection_count()
}

pub fn is_production() -> bool {
    Config::get_instance().is_production() // silent: `Config` is not a manager type
}

pub fn describe() -> &'static str {
    "call get_websocket_manager() once at start-up" // silent: a string
}

/// Seen in real code: a static behind a type alias, used directly.
pub type SharedManager = Arc<RwLock<WebSocketManager>>;

pub static SHARED_MANAGER: Lazy<SharedManager> = Lazy::new(|| Arc::new(RwLock::new(WebSocketManager::new()))); // expect: singleton-manager

pub async fn broadcast_thought(user_id: &str, thought: &str) {
    SHARED_MANAGER.read().unwrap().send_agent_thinking(user_id, thought).await; // expect: singleton-manager
}

pub fn local_state() -> usize {
    let shared_manager = Arc::new(WebSocketManager::new()); // silent: a local, in lower case
    shared_manager.connection_count()
}
