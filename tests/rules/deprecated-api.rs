//! `deprecated-api`: uses of the emitters the migration removes.

use std::cell::RefCell;
use std::sync::Arc;

use crate::adapter::UnifiedWebSocketEmitter; // expect: deprecated-api
use crate::notifier::WebSocketNotifier as Notifier; // expect: deprecated-api
use crate::websocket::WebSocketManager;

thread_local! {
    static CURRENT_EMITTER: RefCell<Option<UnifiedWebSocketEmitter>> = RefCell::new(None); // expect: deprecated-api
}

pub struct DataAgent {
    user_id: String,
    notifier: Notifier, // expect: deprecated-api
}

impl DataAgent {
    pub fn new(manager: Arc<WebSocketManager>, user_id: &str) -> Self {
        let notifier = Notifier::new(manager, user_id.to_string()); // expect: deprecated-api
        DataAgent { user_id: user_id.to_string(), notifier }
    }

    pub fn for_job(user_id: &str) -> Self {
        DataAgent { user_id: user_id.to_string(), notifier: Notifier::create_for_user(user_id) } // expect: deprecated-api
    }

    /// Posts on the system channel; `WebSocketNotifier::global()` is the old way. silent: a doc comment
    pub fn system_user(&self) -> &str {
        &self.user_id
    }
}

pub fn install_emitter(emitter: UnifiedWebSocketEmitter) { // expect: deprecated-api
    CURRENT_EMITTER.with(|cell| *cell.borrow_mut() = Some(emitter));
}

pub fn from_bridge(user_id: &str, thread_id: &str) -> UnifiedWebSocketEmitter { // expect: deprecated-api
    let manager = crate::websocket::get_agent_websocket_bridge(); // expect: deprecated-api
    crate::adapter::UnifiedWebSocketEmitter::spawn(user_id, thread_id, manager) // expect: deprecated-api
}

/// The mobile client's emitter; this module still owns it.
pub struct MobileEmitter {
    user_id: String,
}

/// The notifier's replacement config; only its name looks alike.
pub struct WebSocketNotifierConfig {
    pub retries: u32,
}

pub fn retries(config: &WebSocketNotifierConfig) -> u32 { // silent: another name that starts alike
    config.retries
}

pub fn describe(emitter: &MobileEmitter) -> String {
    // silent: a string naming the old API
    format!("{} still uses WebSocketNotifier::create_for_user", emitter.user_id)
}

pub mod websocket_compat {
    use std::sync::Arc;

    use crate::websocket::WebSocketManager;

    /// Name from the bridge era; defining it is not a use.
    pub fn get_agent_websocket_bridge() -> Arc<WebSocketManager> { // silent: the item's own definition
        Arc::new(WebSocketManager::new())
    }

    pub fn report_bridge() -> Arc<WebSocketManager> {
        // known miss: a call of the module's own deprecated function by its bare name
        get_agent_websocket_bridge()
    }
}

/// The deprecated notifier itself: its own definition and `impl` are not uses.
pub mod notifier_impl {
    pub struct WebSocketNotifier {
        pub user_id: String,
    }

    impl WebSocketNotifier {
        pub fn create_for_user(user_id: &str) -> WebSocketNotifier { // silent: its own `impl` block
            WebSocketNotifier { user_id: user_id.to_string() }
        }
    }
}

/// Seen in real code: a function kept as a value for later.
pub fn bridge_factory() -> fn() -> Arc<Bridge> {
    crate::bridge::get_agent_websocket_bridge // expect: deprecated-api
}
