-- Hardening (issue 10): server-side login sessions, so that a copied session cookie stops
-- working after logout, deactivation or a password change in every process; and counters of
-- failed attempts (sign-in, device user codes, client authentication) shared by every process.

-- One row per signed-in browser session. The cookie carries the session id; the table only its
-- SHA-256, so a copy of the database cannot be turned into a cookie.
CREATE TABLE oauth_toolkit_session (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    sid_checksum TEXT NOT NULL UNIQUE,
    user_id BIGINT NOT NULL REFERENCES oauth_toolkit_user (id) ON DELETE CASCADE,
    auth_time BIGINT NOT NULL,
    created BIGINT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX oauth_toolkit_session_user ON oauth_toolkit_session (user_id);
CREATE INDEX oauth_toolkit_session_expires ON oauth_toolkit_session (expires);

-- Attempts counted per key (a SHA-256 of what is throttled: username and address, user code
-- entry per account, client id and address) within a window that opens with the first attempt.
CREATE TABLE oauth_toolkit_throttle (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    throttle_key TEXT NOT NULL UNIQUE,
    attempts BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    window_end BIGINT NOT NULL
);
CREATE INDEX oauth_toolkit_throttle_end ON oauth_toolkit_throttle (window_end);
