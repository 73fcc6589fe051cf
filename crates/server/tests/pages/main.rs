// Black-box tests of the provider's own web pages over real HTTP against `oauth-toolkit
// serve`, on SQLite and PostgreSQL: the application and authorized-token management pages
// (isolation between users, login, CSRF, validation, secrets) and the staff admin (access,
// no secrets shown, actions and their log, keyset pages), and what every page shares
// (security headers, versioned assets).

#[path = "../common/mod.rs"]
#[macro_use]
mod common;
mod support;
mod world;

mod admin;
mod admin_actions;
mod admin_lists;
mod applications;
mod chrome;
mod csrf;
mod isolation;

use admin::{the_admin_is_for_staff_only, the_admin_never_shows_secrets};
use admin_actions::admin_actions_work_and_are_logged;
use admin_lists::admin_lists_come_in_keyset_pages;
use applications::{
    authorized_tokens_are_listed_and_revoked, registration_is_validated_field_by_field,
    the_secret_is_shown_once_and_can_be_replaced,
};
use chrome::pages_have_security_headers_and_assets;
use csrf::every_form_checks_csrf;
use isolation::{another_users_objects_are_not_found, management_pages_need_login};

backends!(
    another_users_objects_are_not_found,
    management_pages_need_login,
    the_admin_is_for_staff_only,
    every_form_checks_csrf,
    registration_is_validated_field_by_field,
    the_secret_is_shown_once_and_can_be_replaced,
    authorized_tokens_are_listed_and_revoked,
    the_admin_never_shows_secrets,
    admin_actions_work_and_are_logged,
    pages_have_security_headers_and_assets,
    admin_lists_come_in_keyset_pages,
);
