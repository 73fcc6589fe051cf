//! DOT's `ApplicationForm`: its fields, their rendering context, and the parsing and
//! validation of a submitted form (the same rules as `createapplication`, per field).

use std::collections::BTreeMap;

use minijinja::{context, Value};
use oauth_toolkit_core::models::{Algorithm, Application, ClientType, GrantType, NewApplication};
use oauth_toolkit_core::params::Params;
use oauth_toolkit_core::Settings;

/// What a form shows when it is rendered: field values and messages by field.
#[derive(Debug, Default, Clone)]
pub(crate) struct FormState {
    pub values: BTreeMap<&'static str, String>,
    pub errors: BTreeMap<&'static str, Vec<String>>,
    /// Messages about the form as a whole.
    pub general: Vec<String>,
}

impl FormState {
    pub fn error(&mut self, field: &'static str, message: impl Into<String>) {
        self.errors.entry(field).or_default().push(message.into());
    }

    pub fn is_valid(&self) -> bool {
        self.errors.is_empty() && self.general.is_empty()
    }

    fn value(&self, name: &str) -> String {
        self.values.get(name).cloned().unwrap_or_default()
    }

    fn checked(&self, name: &str) -> bool {
        self.values.get(name).is_some_and(|v| v == "on")
    }
}

/// One field of a form template (`form.fields`).
pub(crate) enum Kind {
    Text,
    Password,
    Textarea,
    Checkbox,
    Select(Vec<(String, String)>),
}

/// A field's rendering context: name, label, kind, value, choices, help, errors.
pub(crate) fn field(
    state: &FormState,
    name: &'static str,
    label: &str,
    kind: Kind,
    help: &str,
    required: bool,
) -> Value {
    let value = state.value(name);
    let (kind_name, choices) = match &kind {
        Kind::Text => ("text", Vec::new()),
        Kind::Password => ("password", Vec::new()),
        Kind::Textarea => ("textarea", Vec::new()),
        Kind::Checkbox => ("checkbox", Vec::new()),
        Kind::Select(c) => (
            "select",
            c.iter()
                .map(|(v, l)| context! { value => v, label => l, selected => *v == value })
                .collect(),
        ),
    };
    context! {
        name => name,
        label => label,
        kind => kind_name,
        value => if matches!(kind, Kind::Password) { String::new() } else { value },
        checked => state.checked(name),
        choices => choices,
        help => help,
        errors => state.errors.get(name).cloned().unwrap_or_default(),
        required => required,
    }
}

/// The form context of a template: `{errors, fields}`.
pub(crate) fn form_value(state: &FormState, fields: Vec<Value>) -> Value {
    context! { errors => state.general.clone(), fields => fields }
}

fn choices<T: Copy>(
    all: &[T],
    value: impl Fn(T) -> String,
    label: impl Fn(T) -> String,
) -> Vec<(String, String)> {
    all.iter().map(|t| (value(*t), label(*t))).collect()
}

pub(crate) fn client_type_label(t: ClientType) -> String {
    match t {
        ClientType::Confidential => "Confidential (a server that keeps a secret)".into(),
        ClientType::Public => "Public (a browser or native app)".into(),
    }
}

pub(crate) fn grant_type_label(g: GrantType) -> String {
    match g {
        GrantType::AuthorizationCode => "Authorization code".into(),
        GrantType::DeviceCode => "Device code".into(),
        GrantType::Implicit => "Implicit".into(),
        GrantType::Password => "Resource owner password-based".into(),
        GrantType::ClientCredentials => "Client credentials".into(),
        GrantType::OpenIdHybrid => "OpenID connect hybrid".into(),
    }
}

/// Which fields a form has: registration shows the secret fields, an update does not (a
/// secret is replaced with "new secret", never typed over); staff also see
/// `skip_authorization`, which a user must not grant their own application.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Variant {
    Register,
    Update,
    StaffRegister,
    StaffUpdate,
}

impl Variant {
    /// The form sets the secret (registration only).
    fn has_secret(self) -> bool {
        matches!(self, Variant::Register | Variant::StaffRegister)
    }

    /// Staff's form, with `skip_authorization`.
    fn is_staff(self) -> bool {
        matches!(self, Variant::StaffRegister | Variant::StaffUpdate)
    }
}

/// The fields of DOT's `ApplicationForm`, in its order.
pub(crate) fn application_fields(state: &FormState, variant: Variant) -> Vec<Value> {
    let mut f = vec![
        field(
            state,
            "name",
            "Name",
            Kind::Text,
            "Shown to users on the consent page.",
            false,
        ),
        field(
            state,
            "client_id",
            "Client id",
            Kind::Text,
            "The public identifier the application sends as client_id.",
            true,
        ),
    ];
    if variant.has_secret() {
        f.push(field(
            state,
            "client_secret",
            "Client secret",
            Kind::Password,
            "Leave empty to have a strong secret generated (recommended). It is shown once, right after saving.",
            false,
        ));
        f.push(field(
            state,
            "hash_client_secret",
            "Store the client secret hashed",
            Kind::Checkbox,
            "Recommended. Only HS256-signed ID tokens need the secret stored unhashed.",
            false,
        ));
    }
    f.push(field(
        state,
        "client_type",
        "Client type",
        Kind::Select(choices(
            &[ClientType::Confidential, ClientType::Public],
            |t| t.as_str().to_string(),
            client_type_label,
        )),
        "",
        true,
    ));
    f.push(field(
        state,
        "authorization_grant_type",
        "Authorization grant type",
        Kind::Select(choices(
            &GrantType::ALL,
            |g| g.as_str().to_string(),
            grant_type_label,
        )),
        "",
        true,
    ));
    f.push(field(
        state,
        "redirect_uris",
        "Redirect URIs",
        Kind::Textarea,
        "Allowed URIs, separated by spaces or new lines. Required for the authorization-code, implicit and hybrid grants.",
        false,
    ));
    f.push(field(
        state,
        "post_logout_redirect_uris",
        "Post logout redirect URIs",
        Kind::Textarea,
        "Where OpenID Connect logout may send users back to, separated by spaces or new lines.",
        false,
    ));
    f.push(field(
        state,
        "allowed_origins",
        "Allowed origins",
        Kind::Textarea,
        "Origins (scheme://host[:port]) allowed to call the token endpoint from a browser, separated by spaces or new lines.",
        false,
    ));
    f.push(field(
        state,
        "algorithm",
        "Algorithm",
        Kind::Select(vec![
            (String::new(), "No OIDC support".into()),
            ("RS256".into(), "RSA with SHA-2 256".into()),
            (
                "HS256".into(),
                "HMAC with SHA-2 256 (needs an unhashed secret)".into(),
            ),
        ]),
        "How ID tokens for this application are signed.",
        false,
    ));
    if variant.is_staff() {
        f.push(field(
            state,
            "skip_authorization",
            "Skip authorization",
            Kind::Checkbox,
            "Users are never asked to consent to this application.",
            false,
        ));
    }
    f
}

/// The form's values for an existing application.
pub(crate) fn values_of(app: &Application) -> FormState {
    let mut s = FormState::default();
    let v = &mut s.values;
    v.insert("name", app.name.clone());
    v.insert("client_id", app.client_id.clone());
    v.insert("client_type", app.client_type.as_str().into());
    v.insert(
        "authorization_grant_type",
        app.authorization_grant_type.as_str().into(),
    );
    v.insert("redirect_uris", app.redirect_uris.clone());
    v.insert(
        "post_logout_redirect_uris",
        app.post_logout_redirect_uris.clone(),
    );
    v.insert("allowed_origins", app.allowed_origins.clone());
    v.insert("algorithm", app.algorithm.as_str().into());
    if app.hash_client_secret {
        v.insert("hash_client_secret", "on".into());
    }
    if app.skip_authorization {
        v.insert("skip_authorization", "on".into());
    }
    s
}

/// The values of a blank registration form.
pub(crate) fn blank(settings: &Settings) -> FormState {
    let new = NewApplication::new(
        ClientType::Confidential,
        GrantType::AuthorizationCode,
        settings,
    );
    let mut s = FormState::default();
    s.values.insert("client_id", new.client_id);
    s.values
        .insert("client_type", ClientType::Confidential.as_str().into());
    s.values.insert(
        "authorization_grant_type",
        GrantType::AuthorizationCode.as_str().into(),
    );
    s.values.insert("hash_client_secret", "on".into());
    s
}

const TEXT_FIELDS: [&str; 8] = [
    "name",
    "client_id",
    "client_secret",
    "client_type",
    "authorization_grant_type",
    "redirect_uris",
    "post_logout_redirect_uris",
    "allowed_origins",
];

/// Lists typed one per line are stored space-separated.
fn one_line(list: &str) -> String {
    list.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A submitted form, parsed: its values for re-rendering and, when every field parsed, the
/// application it describes (`base` supplies what the form does not show). The caller
/// still runs [`check`] and the database checks.
pub(crate) fn parse(
    params: &Params,
    variant: Variant,
    base: NewApplication,
) -> (FormState, Option<(NewApplication, Option<String>)>) {
    let mut s = FormState::default();
    for name in TEXT_FIELDS.iter().copied().chain(["algorithm"]) {
        if let Some(v) = params.all(name).first() {
            s.values.insert(name, v.to_string());
        }
    }
    for name in ["hash_client_secret", "skip_authorization"] {
        if params.all(name).first().is_some_and(|v| !v.is_empty()) {
            s.values.insert(name, "on".into());
        }
    }
    for name in TEXT_FIELDS.iter().copied().chain(["algorithm"]) {
        if params.all(name).len() > 1 {
            s.error(name, "Give this field once.");
        }
    }
    let client_type = s.value("client_type").parse::<ClientType>();
    let grant_type = s.value("authorization_grant_type").parse::<GrantType>();
    let algorithm = s.value("algorithm").parse::<Algorithm>();
    if client_type.is_err() {
        s.error("client_type", "Select a valid client type.");
    }
    if grant_type.is_err() {
        s.error("authorization_grant_type", "Select a valid grant type.");
    }
    if algorithm.is_err() {
        s.error("algorithm", "Select a valid algorithm.");
    }
    let (Ok(client_type), Ok(grant_type), Ok(algorithm)) = (client_type, grant_type, algorithm)
    else {
        return (s, None);
    };
    let mut app = base;
    app.client_type = client_type;
    app.authorization_grant_type = grant_type;
    app.algorithm = algorithm;
    app.name = s.value("name").trim().to_string();
    app.client_id = s.value("client_id").trim().to_string();
    app.redirect_uris = one_line(&s.value("redirect_uris"));
    app.post_logout_redirect_uris = one_line(&s.value("post_logout_redirect_uris"));
    app.allowed_origins = one_line(&s.value("allowed_origins"));
    if variant.is_staff() {
        app.skip_authorization = s.checked("skip_authorization");
    }
    let typed_secret = if !variant.has_secret() {
        None
    } else {
        app.hash_client_secret = s.checked("hash_client_secret");
        let secret = s.value("client_secret");
        if secret.len() > 255 || secret.chars().any(char::is_control) {
            s.error(
                "client_secret",
                "Must be at most 255 characters without control characters.",
            );
        }
        (!secret.is_empty()).then_some(secret)
    };
    (s, Some((app, typed_secret)))
}

/// DOT's model validation, each message next to its field (or at the top, for a field
/// this form does not show). `app.client_secret` must hold the plaintext (or the stored
/// value, on an update): HS256's rules look at it.
pub(crate) fn check(
    state: &mut FormState,
    app: &NewApplication,
    settings: &Settings,
    variant: Variant,
) {
    if let Err(list) = app.validate(settings) {
        for e in list {
            let shown = match e.field {
                "client_secret" | "hash_client_secret" => variant.has_secret(),
                "skip_authorization" => variant.is_staff(),
                f => TEXT_FIELDS.contains(&f) || f == "algorithm",
            };
            if shown {
                state.error(e.field, capitalise(&e.message));
            } else {
                state
                    .general
                    .push(format!("{}: {}", e.field, capitalise(&e.message)));
            }
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => {
            let mut out: String = f.to_uppercase().collect();
            out.push_str(c.as_str());
            if !out.ends_with('.') {
                out.push('.');
            }
            out
        }
        None => String::new(),
    }
}

/// The defaults a registration form starts from.
pub(crate) fn as_new_blank(settings: &Settings) -> NewApplication {
    NewApplication::new(
        ClientType::Confidential,
        GrantType::AuthorizationCode,
        settings,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::form::parse_urlencoded;

    fn submit(
        body: &str,
        variant: Variant,
    ) -> (FormState, Option<(NewApplication, Option<String>)>) {
        let settings = Settings::default();
        parse(
            &parse_urlencoded(body.as_bytes()),
            variant,
            as_new_blank(&settings),
        )
    }

    #[test]
    fn a_valid_registration_parses_with_lists_on_one_line() {
        let (fs, parsed) = submit(
            "name=Printer&client_id=abc&client_type=public&authorization_grant_type=authorization-code\
             &redirect_uris=https%3A%2F%2Fa.example%2Fcb%0D%0Ahttps%3A%2F%2Fb.example%2Fcb&hash_client_secret=on",
            Variant::Register,
        );
        assert!(fs.is_valid(), "{:?}", fs.errors);
        let (app, typed) = parsed.unwrap();
        assert_eq!(
            app.redirect_uris,
            "https://a.example/cb https://b.example/cb"
        );
        assert_eq!(app.client_type, ClientType::Public);
        assert!(app.hash_client_secret);
        assert!(typed.is_none(), "an empty secret means: generate one");
    }

    #[test]
    fn unknown_choices_are_field_errors() {
        let (fs, parsed) = submit(
            "client_id=abc&client_type=secret&authorization_grant_type=magic&algorithm=none",
            Variant::Register,
        );
        assert!(parsed.is_none());
        for f in ["client_type", "authorization_grant_type", "algorithm"] {
            assert!(fs.errors.contains_key(f), "{f}: {:?}", fs.errors);
        }
        assert_eq!(fs.values["client_type"], "secret", "what was typed is kept");
    }

    #[test]
    fn model_rules_land_next_to_their_field() {
        let settings = Settings::default();
        let (mut fs, parsed) = submit(
            "client_id=a%3Ab&client_type=public&authorization_grant_type=authorization-code&algorithm=HS256",
            Variant::Register,
        );
        let (app, _) = parsed.unwrap();
        check(&mut fs, &app, &settings, Variant::Register);
        assert!(
            fs.errors["client_id"].iter().any(|m| m.contains(':')),
            "{:?}",
            fs.errors
        );
        assert!(fs.errors.contains_key("redirect_uris"), "{:?}", fs.errors);
        assert!(fs.errors.contains_key("algorithm"), "{:?}", fs.errors);
    }

    #[test]
    fn only_staff_may_skip_authorization_and_updates_never_set_a_secret() {
        let body =
            "client_id=abc&client_type=confidential&authorization_grant_type=client-credentials\
                    &skip_authorization=on&client_secret=typed&hash_client_secret=on";
        let (_, user) = submit(body, Variant::Register);
        assert!(!user.unwrap().0.skip_authorization);
        let (_, staff) = submit(body, Variant::StaffRegister);
        assert!(staff.unwrap().0.skip_authorization);
        let (_, update) = submit(body, Variant::Update);
        let (app, typed) = update.unwrap();
        assert!(typed.is_none());
        assert!(
            app.client_secret.is_empty(),
            "the base's (empty) secret is kept"
        );
        let fields = application_fields(&FormState::default(), Variant::Update);
        assert!(!format!("{fields:?}").contains("client_secret"));
    }

    #[test]
    fn a_repeated_field_is_refused() {
        let (fs, _) = submit(
            "client_id=a&client_id=b&client_type=public&authorization_grant_type=implicit",
            Variant::Register,
        );
        assert!(fs.errors.contains_key("client_id"));
    }

    #[test]
    fn password_fields_never_echo_their_value() {
        let mut fs = FormState::default();
        fs.values.insert("client_secret", "s3cret".into());
        let v = field(
            &fs,
            "client_secret",
            "Client secret",
            Kind::Password,
            "",
            false,
        );
        assert!(!format!("{v:?}").contains("s3cret"));
    }
}
