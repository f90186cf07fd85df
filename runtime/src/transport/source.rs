//! [`EventSource`]: where the routes read each user's events from, and [`EventSubscription`]:
//! one connection's view of them.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use super::replay::{ReplayHub, ReplayItem, ReplaySubscription, SubscribeError};

/// A future returned by [`EventSource::subscribe`].
pub type SubscribeFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Box<dyn EventSubscription>, SubscribeError>> + Send + 'a>>;

/// A future returned by [`EventSubscription::next`].
pub type NextFuture<'a> = Pin<Box<dyn Future<Output = Option<ReplayItem>> + Send + 'a>>;

/// A future returned by [`EventSubscription::lagged`].
pub type LaggedFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where [`super::router`]'s connections read each user's events from: the local
/// [`ReplayHub`] (one server), or `redis::RedisSource` (feature `redis`: several replicas
/// sharing Redis, so a run on one replica reaches a user connected to another).
///
/// Whatever the source, a subscription yields the same [`ReplayItem`]s: with a cursor, exactly
/// the events after it (or [`ReplayItem::Gap`] / [`ReplayItem::Reset`] first, never a silent
/// skip), then live events; and [`ReplayItem::Lagged`] when the connection falls more than its
/// queue bound behind.
pub trait EventSource: Send + Sync + 'static {
    /// Subscribes a connection to `user_id`'s events. `after`: `None` for the events delivered
    /// from now on, or the cursor of the last event the client received. `queue_len`: the
    /// connection's bound on unread live events, or `None` for the source's own. The
    /// subscription is in place when the future resolves: an event delivered afterwards reaches
    /// it.
    fn subscribe<'a>(
        &'a self,
        user_id: Arc<str>,
        after: Option<&'a str>,
        queue_len: Option<usize>,
    ) -> SubscribeFuture<'a>;
}

/// One connection's view of a user's events: replay first, then live. Dropping it unsubscribes.
pub trait EventSubscription: Send + Sync + 'static {
    /// The user whose events this subscription receives.
    fn user_id(&self) -> &str;

    /// The next item, waiting for one; `None` once the stream has ended (after
    /// [`ReplayItem::Lagged`], or once the source closed). Cancel-safe: dropping the future
    /// loses nothing.
    fn next(&mut self) -> NextFuture<'_>;

    /// The next item if one is ready without waiting (nothing that needs I/O): what is already
    /// queued for the connection, for a last flush at shutdown.
    fn try_next(&mut self) -> Option<ReplayItem>;

    /// Resolves once the subscription is lagged (never otherwise), so a writer blocked on a
    /// slow client can give up. Cancel-safe.
    fn lagged(&self) -> LaggedFuture<'_>;
}

impl EventSource for ReplayHub {
    fn subscribe<'a>(
        &'a self,
        user_id: Arc<str>,
        after: Option<&'a str>,
        queue_len: Option<usize>,
    ) -> SubscribeFuture<'a> {
        let subscription = match queue_len {
            Some(queue_len) => self.subscribe_with_queue(user_id, after, queue_len),
            None => ReplayHub::subscribe(self, user_id, after),
        };
        Box::pin(std::future::ready(subscription.map(|s| Box::new(s) as Box<dyn EventSubscription>)))
    }
}

impl EventSubscription for ReplaySubscription {
    fn user_id(&self) -> &str {
        ReplaySubscription::user_id(self)
    }

    fn next(&mut self) -> NextFuture<'_> {
        Box::pin(ReplaySubscription::next(self))
    }

    fn try_next(&mut self) -> Option<ReplayItem> {
        ReplaySubscription::try_next(self)
    }

    fn lagged(&self) -> LaggedFuture<'_> {
        Box::pin(ReplaySubscription::lagged(self))
    }
}
