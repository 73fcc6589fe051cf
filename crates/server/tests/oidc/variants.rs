//! Implicit and Hybrid OP plans: the modules of [`crate::plan`], run per response type.

/// One module per conformance module for a response type: `variant!(module, "type", [extra
/// modules])` runs the modules every plan variant has, and the extra ones, as
/// `module::{sqlite,postgres}::<module>`. An extra module may carry attributes (`#[ignore]`).
macro_rules! variant {
    ($name:ident, $rt:literal, [$($(#[$m:meta])* $extra:ident),* $(,)?]) => {
        variant!(@tests $name, $rt, [
            oidcc_server,
            oidcc_idtoken_signature,
            oidcc_scope_profile,
            oidcc_scope_email,
            oidcc_scope_address,
            oidcc_scope_phone,
            oidcc_scope_all,
            oidcc_display_page,
            oidcc_display_popup,
            oidcc_prompt_login,
            oidcc_prompt_none_not_logged_in,
            oidcc_max_age_1,
            oidcc_max_age_10000,
            oidcc_ensure_request_with_unknown_parameter_succeeds,
            oidcc_login_hint,
            oidcc_ui_locales,
            oidcc_claims_locales,
            oidcc_ensure_request_with_acr_values_succeeds,
            oidcc_ensure_registered_redirect_uri,
            oidcc_request_uri_unsigned_supported_correctly_or_rejected_as_unsupported,
            oidcc_unsigned_request_object_supported_correctly_or_rejected_as_unsupported,
            oidcc_ensure_request_object_with_redirect_uri,
            oidcc_claims_essential,
            $($(#[$m])* $extra),*
        ]);
    };
    (@tests $name:ident, $rt:literal, [$($(#[$m:meta])* $test:ident),*]) => {
        mod $name {
            mod sqlite { $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$m])*
                async fn $test() {
                    crate::plan::$test(crate::support::Op::variant(
                        crate::common::Backend::Sqlite,
                        $rt,
                    ))
                    .await;
                }
            )* }
            mod postgres { $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                $(#[$m])*
                async fn $test() {
                    crate::plan::$test(crate::support::Op::variant(
                        crate::common::Backend::Postgres,
                        $rt,
                    ))
                    .await;
                }
            )* }
        }
    };
}

// Implicit OP plan; the userinfo and response-type modules run once, with an access token.
variant!(
    implicit_id_token_token,
    "id_token token",
    [
        oidcc_prompt_none_logged_in,
        oidcc_id_token_hint,
        oidcc_ensure_request_without_nonce_fails,
        oidcc_alternate_happy_flow,
        oidcc_userinfo_get,
        oidcc_userinfo_post_header,
        oidcc_userinfo_post_body,
        oidcc_response_type_missing,
    ]
);
variant!(
    implicit_id_token,
    "id_token",
    [
        // No access token here: the live ID tokens of the client record the consent.
        oidcc_prompt_none_logged_in,
        oidcc_id_token_hint,
        oidcc_ensure_request_without_nonce_fails,
        oidcc_alternate_happy_flow,
    ]
);

// Hybrid OP plan; the response-type, alternate-flow and PKCE modules for `code id_token` only.
variant!(
    hybrid_code_id_token,
    "code id_token",
    [
        oidcc_prompt_none_logged_in,
        oidcc_id_token_hint,
        oidcc_ensure_request_without_nonce_fails,
        oidcc_userinfo_get,
        oidcc_userinfo_post_header,
        oidcc_userinfo_post_body,
        oidcc_codereuse,
        oidcc_codereuse_30seconds,
        oidcc_server_client_secret_post,
        oidcc_refresh_token,
        oidcc_response_type_missing,
        oidcc_alternate_happy_flow,
        oidcc_ensure_request_with_valid_pkce_succeeds,
    ]
);
variant!(
    hybrid_code_token,
    "code token",
    [
        oidcc_prompt_none_logged_in,
        oidcc_id_token_hint,
        oidcc_ensure_request_without_nonce_succeeds_for_code_flow,
        oidcc_userinfo_get,
        oidcc_userinfo_post_header,
        oidcc_userinfo_post_body,
        oidcc_codereuse,
        oidcc_codereuse_30seconds,
        oidcc_server_client_secret_post,
        oidcc_refresh_token,
    ]
);
variant!(
    hybrid_code_id_token_token,
    "code id_token token",
    [
        oidcc_prompt_none_logged_in,
        oidcc_id_token_hint,
        oidcc_ensure_request_without_nonce_fails,
        oidcc_userinfo_get,
        oidcc_userinfo_post_header,
        oidcc_userinfo_post_body,
        oidcc_codereuse,
        oidcc_codereuse_30seconds,
        oidcc_server_client_secret_post,
        oidcc_refresh_token,
    ]
);
