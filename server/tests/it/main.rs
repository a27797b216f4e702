//! HTTP-level tests: each starts the real server on an ephemeral port of
//! 127.0.0.1 with its own temporary SQLite file.

mod accounts;
mod api;
mod audit;
mod cli;
mod csrf;
mod database;
mod developer;
mod device;
mod dot;
mod hardening;
mod import;
mod interop;
mod mail;
mod markup;
mod memory;
mod metrics;
mod oauth;
mod oidc;
mod replicas;
mod resource;
mod server_fns;
mod sessions;
mod support;
mod throttling;
