use std::sync::Arc;

use oauth_toolkit_core::store::Store;
use oauth_toolkit_core::{Clock, Settings};

use crate::templates::Templates;

/// What every handler can reach. Cheap to clone; holds nothing that must live in one
/// process only (sessions and keys are in the database or in signed cookies).
#[derive(Clone)]
pub struct AppState {
    pub settings: Arc<Settings>,
    pub store: Arc<dyn Store>,
    pub clock: Arc<dyn Clock>,
    pub templates: Arc<Templates>,
}

impl AppState {
    pub fn new(
        settings: Settings,
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, crate::templates::TemplateError> {
        let templates = Templates::new(settings.template_dir.as_deref().map(Into::into))?;
        Ok(Self {
            settings: Arc::new(settings),
            store,
            clock,
            templates: Arc::new(templates),
        })
    }
}
