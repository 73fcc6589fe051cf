//! The embedded app with its own login page: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    embedded_app::app::run(embedded_app::app::Login::Own).await
}
