//! The embedded app with the provider's login pages: see the crate documentation.

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    embedded_app::app::run(embedded_app::app::Login::Provider).await
}
