-- Resource indicators (RFC 8707): the resources (absolute URIs, space-separated) a code or a
-- token is bound to. Empty: bound to none, accepted by any resource (as before).
ALTER TABLE oauth2_provider_grant ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth2_provider_accesstoken ADD COLUMN resource TEXT NOT NULL DEFAULT '';
ALTER TABLE oauth2_provider_refreshtoken ADD COLUMN resource TEXT NOT NULL DEFAULT '';
