-- OpenID Connect (issue 4): signing keys shared by every process, and what ID tokens need to
-- remember about the authentication they report (OIDC Core §2: auth_time; Front/Back-Channel
-- Logout: sid; §5.5: the `claims` request, for userinfo).

CREATE TABLE oauth_toolkit_signingkey (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kid TEXT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL CHECK (algorithm IN ('RS256', 'ES256')),
    private_key TEXT NOT NULL,
    -- 'initial' for the key generated on first start (one per deployment, race-safe); NULL
    -- for keys added by rotation.
    label TEXT UNIQUE,
    created BIGINT NOT NULL
);

ALTER TABLE oauth2_provider_grant ADD COLUMN auth_time BIGINT;
ALTER TABLE oauth2_provider_grant ADD COLUMN sid TEXT NOT NULL DEFAULT '';

ALTER TABLE oauth2_provider_idtoken ADD COLUMN auth_time BIGINT;
ALTER TABLE oauth2_provider_idtoken ADD COLUMN sid TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth2_provider_idtoken ADD COLUMN claims TEXT NOT NULL DEFAULT '{}';
