//! The command line: DOT's management commands and their arguments.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "oauth-toolkit",
    version,
    about = "An OAuth 2.0 and OpenID Connect provider",
    long_about = "An OAuth 2.0 and OpenID Connect provider.\n\n\
        Settings come from a TOML file (--config, OAUTH_TOOLKIT_CONFIG, or ./oauth-toolkit.toml \
        when present), then OAUTH_TOOLKIT_<SETTING> environment variables. DATABASE_URL picks \
        the database (default: the SQLite file ./oauth-toolkit.sqlite3)."
)]
pub struct Cli {
    /// Settings file (TOML).
    #[arg(long, global = true, env = "OAUTH_TOOLKIT_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,

    /// Log at debug level (RUST_LOG overrides).
    #[arg(long, short, global = true)]
    pub verbose: bool,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the provider over HTTP (applies pending migrations first).
    Serve(ServeArgs),
    /// Apply pending database migrations.
    Migrate,
    /// Create a user of the provider's own user store.
    Createuser(CreateUserArgs),
    /// Change a user: activate or deactivate, staff status, email, password. Deactivating or
    /// a new password ends the user's sessions.
    Updateuser(UpdateUserArgs),
    /// Register an OAuth application (DOT's createapplication).
    Createapplication(CreateApplicationArgs),
    /// List the registered applications, newest first (never their secrets).
    Listapplications(ListApplicationsArgs),
    /// Change an application's name, URIs, origins, consent or secret (only what is given).
    ///
    /// The result is checked like createapplication's input: every problem is reported at
    /// once and nothing is written. A regenerated secret is printed once.
    Updateapplication(UpdateApplicationArgs),
    /// Delete an application, with its tokens, codes and grants.
    Deleteapplication(DeleteApplicationArgs),
    /// Delete expired and revoked tokens, grants and device codes (DOT's cleartokens).
    Cleartokens,
    /// Add an OpenID Connect signing key: published at once, it signs new ID tokens once it is
    /// twice `oidc_jwks_cache_seconds` old; older keys stay in the JWKS so tokens signed
    /// before still verify.
    Createsigningkey(CreateSigningKeyArgs),
    /// Retire an OpenID Connect signing key that no longer signs (not the newest key, nor the
    /// newest RS256 key). Tokens it signed stop verifying: wait until they have expired.
    Deletesigningkey(DeleteSigningKeyArgs),
    /// Count applications, tokens, codes and device grants: totals and live ones (a scan of
    /// every table; read-only).
    Stats(StatsArgs),
    /// Report live tokens older than some days, and the applications holding the most live
    /// access tokens (read-only).
    Audittokens(AuditTokensArgs),
    /// Revoke a user's tokens in one transaction: delete their access tokens, ID tokens and
    /// unused codes, revoke their refresh tokens, deny their pending device grants. Every
    /// running server refuses them at once.
    Revoketokens(RevokeTokensArgs),
    /// Delete applications unused for some days: no access or refresh token created since,
    /// no live token, code or device grant, not registered since. Each is checked again as it
    /// is deleted, so one that gets a token meanwhile is kept; safe beside `serve`.
    Cleanupapplications(CleanupApplicationsArgs),
    /// Rename a scope in stored access tokens, ID tokens, unused codes and pending device
    /// grants (whole scope tokens only), in batches; safe beside `serve`.
    Migratescopes(MigrateScopesArgs),
    /// Check the database answers and report token health: exit 0 when healthy (or a
    /// warning: more than 80% of the access tokens expired), 1 when the database cannot be
    /// reached.
    Health(HealthArgs),
}

#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Print the counts as one JSON object on stdout (per-type counts as objects).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct AuditTokensArgs {
    /// Count live tokens created more than this many days ago (0: every live token).
    #[arg(
        long,
        default_value_t = 7,
        value_name = "DAYS",
        allow_negative_numbers = true
    )]
    pub older_than_days: i64,
    /// List this many applications with the most live access tokens (1 to 1000).
    #[arg(
        long,
        default_value_t = 10,
        value_name = "N",
        allow_negative_numbers = true
    )]
    pub top: i64,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct RevokeTokensArgs {
    /// The user whose tokens to revoke.
    #[arg(long, value_name = "USERNAME")]
    pub user: String,
    /// Only the tokens issued to this application (a client id); default: every application.
    #[arg(long, value_name = "CLIENT_ID")]
    pub application: Option<String>,
    /// Count what would be revoked, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the counts as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CleanupApplicationsArgs {
    /// Delete applications without any access or refresh token created in this many days
    /// (at least 1).
    #[arg(
        long,
        default_value_t = 90,
        value_name = "DAYS",
        allow_negative_numbers = true
    )]
    pub inactive_days: i64,
    /// Report what would be deleted, and delete nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the report as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct MigrateScopesArgs {
    /// The scope to rename.
    pub old: String,
    /// Its new name (a configured scope).
    pub new: String,
    /// Count the rows that would change, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Print the counts as one JSON object on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct HealthArgs {
    /// Print the report as one JSON object on stdout (also when unhealthy).
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateSigningKeyArgs {
    /// RS256 (RSA 2048) or ES256 (P-256).
    #[arg(long, default_value = "RS256", value_parser = ["RS256", "ES256"])]
    pub algorithm: String,
    /// Print `{"kid":..,"algorithm":..}` on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteSigningKeyArgs {
    /// The key's `kid` (as published in the JWKS). A base64url thumbprint may begin with `-`,
    /// so a leading hyphen is part of the value, not an option.
    #[arg(allow_hyphen_values = true)]
    pub kid: String,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on (overrides the `bind` setting), e.g. 0.0.0.0:8000.
    #[arg(long, value_name = "ADDR")]
    pub bind: Option<String>,
    /// Also serve the tutorial's protected API under /api/ (/api/hello, /api/scoped,
    /// /api/rw, /api/music, …), built with the resource-server extractors.
    #[arg(long)]
    pub demo_api: bool,
    /// Serve GET /debug/stats ({"db_statements": N}: statements sent to the database so
    /// far) and log the total at shutdown. For benchmarks (docs/performance.md); off by default.
    /// Needs a binary built with the `debug-stats` feature.
    #[arg(long)]
    pub debug_stats: bool,
}

#[derive(Debug, Args)]
pub struct CreateUserArgs {
    /// The username (letters, digits and @ . + - _; at most 150).
    pub username: String,
    #[arg(long)]
    pub email: Option<String>,
    /// The password (visible in the process list: prefer --password-stdin).
    #[arg(long, conflicts_with = "password_stdin")]
    pub password: Option<String>,
    /// Read the password from the first line of standard input.
    #[arg(long)]
    pub password_stdin: bool,
    #[arg(long)]
    pub first_name: Option<String>,
    #[arg(long)]
    pub last_name: Option<String>,
    /// May use the administration pages.
    #[arg(long)]
    pub staff: bool,
    /// Has every permission.
    #[arg(long)]
    pub superuser: bool,
    /// Print `{"id":..,"username":..}` on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateUserArgs {
    /// The user to change.
    pub username: String,
    /// Let the user sign in again; their tokens work again.
    #[arg(long, conflicts_with = "inactive")]
    pub active: bool,
    /// Deactivate: no sign-in, sessions ended, every token and code refused.
    #[arg(long)]
    pub inactive: bool,
    /// May use the administration pages.
    #[arg(long, conflicts_with = "no_staff")]
    pub staff: bool,
    #[arg(long)]
    pub no_staff: bool,
    #[arg(long)]
    pub email: Option<String>,
    /// Read a new password from the first line of standard input (ends the user's sessions).
    #[arg(long)]
    pub password_stdin: bool,
    /// Print the user as `{"id":..,"username":..}` on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct CreateApplicationArgs {
    /// `confidential` or `public`.
    pub client_type: String,
    /// `authorization-code`, `implicit`, `password`, `client-credentials`, `openid-hybrid` or
    /// `urn:ietf:params:oauth:grant-type:device_code`.
    pub authorization_grant_type: String,
    /// The client id (default: generated, 40 characters).
    #[arg(long)]
    pub client_id: Option<String>,
    /// The client secret (default: generated, 128 characters).
    #[arg(long)]
    pub client_secret: Option<String>,
    /// Store the secret in plaintext (needed for HS256 ID tokens).
    #[arg(long)]
    pub no_hash_client_secret: bool,
    #[arg(long)]
    pub name: Option<String>,
    /// The owner: a username (or a numeric user id, as DOT takes).
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// Space-separated redirect URIs.
    #[arg(long, value_name = "\"A B\"")]
    pub redirect_uris: Option<String>,
    /// Space-separated post-logout redirect URIs.
    #[arg(long, value_name = "\"A B\"")]
    pub post_logout_redirect_uris: Option<String>,
    /// Space-separated CORS origins allowed at the token endpoint.
    #[arg(long, value_name = "\"A B\"")]
    pub allowed_origins: Option<String>,
    /// Do not ask the user for consent.
    #[arg(long)]
    pub skip_authorization: bool,
    /// ID token signing algorithm: "" (none), RS256 or HS256.
    #[arg(long)]
    pub algorithm: Option<String>,
    /// Print `{"client_id":..,"client_secret":..}` on stdout and nothing else there.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct ListApplicationsArgs {
    /// Only the applications owned by this user.
    #[arg(long, value_name = "USERNAME")]
    pub user: Option<String>,
    /// Print a JSON array of the applications (without secrets) on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct DeleteApplicationArgs {
    /// The client id of the application to delete.
    pub client_id: String,
    /// Print `{"client_id":..,"deleted":true}` on stdout.
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct UpdateApplicationArgs {
    /// The client id of the application to change.
    pub client_id: String,
    /// A new name ("" for none: the client id is shown instead).
    #[arg(long)]
    pub name: Option<String>,
    /// Space-separated redirect URIs, replacing the registered ones.
    #[arg(long, value_name = "\"A B\"")]
    pub redirect_uris: Option<String>,
    /// Space-separated post-logout redirect URIs, replacing the registered ones.
    #[arg(long, value_name = "\"A B\"")]
    pub post_logout_redirect_uris: Option<String>,
    /// Space-separated CORS origins allowed at the token endpoint, replacing the registered
    /// ones.
    #[arg(long, value_name = "\"A B\"")]
    pub allowed_origins: Option<String>,
    /// Do not ask users for consent.
    #[arg(long, conflicts_with = "no_skip_authorization")]
    pub skip_authorization: bool,
    /// Ask users for consent again.
    #[arg(long)]
    pub no_skip_authorization: bool,
    /// Replace the client secret with a new generated one, printed once; the old one stops
    /// working (in running servers once their client authentication cache has expired).
    #[arg(long)]
    pub regenerate_secret: bool,
    /// Print `{"client_id":..}` (with `"client_secret"` when regenerated) on stdout.
    #[arg(long)]
    pub json: bool,
}
