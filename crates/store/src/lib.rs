//! Storage for OAuth Toolkit with sqlx: SQLite (the embedded default, WAL mode) and
//! PostgreSQL. Both implement the core's storage traits with the same SQL text (`sql/`, one
//! file per concern); only the migrations differ.

#![warn(missing_docs)]

mod database;
mod error;
mod group_commit;
mod postgres;
mod rows;
mod sql;
mod sqlite;
pub mod stats;
mod time_codec;

pub use database::{Database, OpenOptions};
pub use postgres::PgStore;
pub use sqlite::SqliteStore;
