//! Storage for OAuth Toolkit: SQLite (the embedded default, WAL mode, on rusqlite) and
//! PostgreSQL (on sqlx). Both implement the core's storage traits with the same SQL text
//! (`sql/`, one file per concern); only the migrations and the glue differ.

#![warn(missing_docs)]

mod database;
mod error;
mod postgres;
mod rows;
mod sql;
mod sqlite;
pub mod stats;
mod time_codec;

pub use database::{Database, OpenOptions};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
