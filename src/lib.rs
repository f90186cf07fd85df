//! `cargo agent-events`: finds and fixes every non-canonical agent-event emission site.
//!
//! The pipeline: [`discover`] the files, parse each with a [`frontend`] into language-neutral
//! [`facts`], run the [`rules`] over the facts, apply [`suppress`]ion comments, and [`report`].

pub mod baseline;
pub mod cargo_messages;
pub mod cli;
pub mod comments;
pub mod config;
pub mod diagnostic;
pub mod discover;
pub mod facts;
pub mod fix;
pub mod fixer;
pub mod frontend;
pub mod lint;
pub mod prefilter;
pub mod report;
pub mod rewrite;
pub mod rules;
pub mod server;
pub mod source;
pub mod stats;
pub mod suppress;
pub mod write;
