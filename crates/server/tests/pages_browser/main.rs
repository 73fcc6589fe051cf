//! The web pages in headless Chromium, on SQLite and PostgreSQL: a person registers and
//! edits an application, authorizes it and revokes its token; staff find it and deactivate
//! the person. Every page on the way gets a screenshot (`target/screenshots/<backend>/`,
//! CI artifacts), a check of its headings and labels, axe-core's WCAG 2 A/AA rules (no
//! serious or critical finding) and, for the main pages, a 360 px wide look for sideways
//! scrolling. A second test does the registration with JavaScript off; a third shows that
//! the checks catch what they are for.
//!
//! axe-core comes from npm: `npm install --prefix target/npm axe-core@4` (scripts/test and
//! .ci/run do it); without it the test fails.

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;

mod checks;
mod no_js;
mod scenario;
