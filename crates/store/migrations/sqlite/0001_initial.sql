-- OAuth Toolkit schema (SQLite). Table names follow django-oauth-toolkit's.
-- Timestamps are integer microseconds since the Unix epoch (UTC) on both backends, so every
-- query is the same text and comparisons are exact.

CREATE TABLE oauth_toolkit_user (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE CHECK (length(username) BETWEEN 1 AND 150),
    email TEXT NOT NULL DEFAULT '',
    first_name TEXT NOT NULL DEFAULT '',
    last_name TEXT NOT NULL DEFAULT '',
    password TEXT NOT NULL,
    is_active BOOLEAN NOT NULL DEFAULT 1,
    is_staff BOOLEAN NOT NULL DEFAULT 0,
    is_superuser BOOLEAN NOT NULL DEFAULT 0,
    date_joined BIGINT NOT NULL,
    last_login BIGINT
);

CREATE TABLE oauth2_provider_application (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    client_id TEXT NOT NULL UNIQUE CHECK (length(client_id) BETWEEN 1 AND 255),
    user_id BIGINT REFERENCES oauth_toolkit_user (id) ON DELETE CASCADE,
    redirect_uris TEXT NOT NULL DEFAULT '',
    post_logout_redirect_uris TEXT NOT NULL DEFAULT '',
    client_type TEXT NOT NULL CHECK (client_type IN ('confidential', 'public')),
    authorization_grant_type TEXT NOT NULL CHECK (authorization_grant_type IN (
        'authorization-code', 'implicit', 'password', 'client-credentials', 'openid-hybrid',
        'urn:ietf:params:oauth:grant-type:device_code')),
    client_secret TEXT NOT NULL DEFAULT '' CHECK (length(client_secret) <= 255),
    hash_client_secret BOOLEAN NOT NULL DEFAULT 1,
    name TEXT NOT NULL DEFAULT '' CHECK (length(name) <= 255),
    skip_authorization BOOLEAN NOT NULL DEFAULT 0,
    algorithm TEXT NOT NULL DEFAULT '' CHECK (algorithm IN ('', 'RS256', 'HS256')),
    allowed_origins TEXT NOT NULL DEFAULT '',
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX oauth2_provider_application_user_id ON oauth2_provider_application (user_id);

CREATE TABLE oauth2_provider_idtoken (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT REFERENCES oauth_toolkit_user (id) ON DELETE CASCADE,
    application_id BIGINT REFERENCES oauth2_provider_application (id) ON DELETE CASCADE,
    jti TEXT NOT NULL UNIQUE,
    expires BIGINT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX oauth2_provider_idtoken_expires ON oauth2_provider_idtoken (expires);
CREATE INDEX oauth2_provider_idtoken_user_id ON oauth2_provider_idtoken (user_id);
CREATE INDEX oauth2_provider_idtoken_application_id ON oauth2_provider_idtoken (application_id);

CREATE TABLE oauth2_provider_accesstoken (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT REFERENCES oauth_toolkit_user (id) ON DELETE CASCADE,
    source_refresh_token_id BIGINT UNIQUE
        REFERENCES oauth2_provider_refreshtoken (id) ON DELETE SET NULL,
    token TEXT NOT NULL DEFAULT '',
    token_checksum TEXT NOT NULL UNIQUE,
    id_token_id BIGINT UNIQUE REFERENCES oauth2_provider_idtoken (id) ON DELETE CASCADE,
    application_id BIGINT REFERENCES oauth2_provider_application (id) ON DELETE CASCADE,
    expires BIGINT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    token_family TEXT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX oauth2_provider_accesstoken_expires ON oauth2_provider_accesstoken (expires);
CREATE INDEX oauth2_provider_accesstoken_user_id ON oauth2_provider_accesstoken (user_id);
CREATE INDEX oauth2_provider_accesstoken_application_id ON oauth2_provider_accesstoken (application_id);
CREATE INDEX oauth2_provider_accesstoken_token_family ON oauth2_provider_accesstoken (token_family);

CREATE TABLE oauth2_provider_refreshtoken (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES oauth_toolkit_user (id) ON DELETE CASCADE,
    token TEXT NOT NULL DEFAULT '',
    token_checksum TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES oauth2_provider_application (id) ON DELETE CASCADE,
    access_token_id BIGINT UNIQUE REFERENCES oauth2_provider_accesstoken (id) ON DELETE SET NULL,
    token_family TEXT,
    revoked BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX oauth2_provider_refreshtoken_token_family ON oauth2_provider_refreshtoken (token_family);
CREATE INDEX oauth2_provider_refreshtoken_revoked ON oauth2_provider_refreshtoken (revoked);
CREATE INDEX oauth2_provider_refreshtoken_user_id ON oauth2_provider_refreshtoken (user_id);
CREATE INDEX oauth2_provider_refreshtoken_application_id ON oauth2_provider_refreshtoken (application_id);

CREATE TABLE oauth2_provider_grant (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id BIGINT NOT NULL REFERENCES oauth_toolkit_user (id) ON DELETE CASCADE,
    code_checksum TEXT NOT NULL UNIQUE,
    application_id BIGINT NOT NULL REFERENCES oauth2_provider_application (id) ON DELETE CASCADE,
    expires BIGINT NOT NULL,
    redirect_uri TEXT NOT NULL,
    scope TEXT NOT NULL DEFAULT '',
    code_challenge TEXT NOT NULL DEFAULT '' CHECK (length(code_challenge) <= 128),
    code_challenge_method TEXT NOT NULL DEFAULT '' CHECK (code_challenge_method IN ('', 'plain', 'S256')),
    nonce TEXT NOT NULL DEFAULT '',
    claims TEXT NOT NULL DEFAULT '{}',
    token_family TEXT NOT NULL,
    consumed BIGINT,
    created BIGINT NOT NULL,
    updated BIGINT NOT NULL
);
CREATE INDEX oauth2_provider_grant_expires ON oauth2_provider_grant (expires);
CREATE INDEX oauth2_provider_grant_user_id ON oauth2_provider_grant (user_id);
CREATE INDEX oauth2_provider_grant_application_id ON oauth2_provider_grant (application_id);

CREATE TABLE oauth2_provider_devicegrant (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    device_code_checksum TEXT NOT NULL UNIQUE,
    user_code TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL DEFAULT '',
    "interval" BIGINT NOT NULL DEFAULT 5,
    expires BIGINT NOT NULL,
    status TEXT NOT NULL DEFAULT 'authorization-pending' CHECK (status IN (
        'authorization-pending', 'authorized', 'denied', 'expired')),
    client_id TEXT NOT NULL,
    user_id BIGINT REFERENCES oauth_toolkit_user (id) ON DELETE CASCADE,
    last_checked BIGINT,
    created BIGINT NOT NULL
);
CREATE INDEX oauth2_provider_devicegrant_expires ON oauth2_provider_devicegrant (expires);
CREATE INDEX oauth2_provider_devicegrant_client_id ON oauth2_provider_devicegrant (client_id);

CREATE TABLE oauth_toolkit_secret (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    created BIGINT NOT NULL
);
