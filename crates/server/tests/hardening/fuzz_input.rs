//! Random hostile requests for the fuzz test: what to send where, from a seeded generator.

use crate::common::*;
use crate::support::*;

pub(crate) fn base64(input: &[u8]) -> String {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(T[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// xorshift64*: deterministic, good enough to pick cases.
pub(crate) struct Rng(pub(crate) u64);

impl Rng {
    pub(crate) fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub(crate) fn percent(&mut self, p: usize) -> bool {
        self.below(100) < p
    }
    pub(crate) fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    pub(crate) fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

pub(crate) const FUZZ_SEED: u64 = 0x0A07_5EED_2024_0003;
pub(crate) const FUZZ_REQUESTS: usize = 4000;
pub(crate) const FUZZ_WORKERS: usize = 4;

pub(crate) struct Target {
    pub(crate) path: &'static str,
    pub(crate) methods: &'static [&'static str],
    pub(crate) params: &'static [&'static str],
}

pub(crate) const TOKEN_PARAMS: &[&str] = &[
    "grant_type",
    "code",
    "redirect_uri",
    "code_verifier",
    "client_id",
    "client_secret",
    "scope",
    "username",
    "password",
    "refresh_token",
    "device_code",
    "claims",
];
pub(crate) const AUTHORIZE_PARAMS: &[&str] = &[
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "nonce",
    "prompt",
    "approval_prompt",
    "max_age",
    "id_token_hint",
    "claims",
    "allow",
    "csrfmiddlewaretoken",
    "response_mode",
];
pub(crate) const REVOKE_PARAMS: &[&str] =
    &["token", "token_type_hint", "client_id", "client_secret"];
pub(crate) const LOGIN_PARAMS: &[&str] = &["username", "password", "next", "csrfmiddlewaretoken"];

pub(crate) const TARGETS: &[Target] = &[
    Target {
        path: "/o/token/",
        methods: &["POST"],
        params: TOKEN_PARAMS,
    },
    Target {
        path: "/o/authorize/",
        methods: &["GET", "POST"],
        params: AUTHORIZE_PARAMS,
    },
    Target {
        path: "/o/revoke_token/",
        methods: &["POST"],
        params: REVOKE_PARAMS,
    },
    Target {
        path: "/o/introspect/",
        methods: &["GET", "POST"],
        params: REVOKE_PARAMS,
    },
    Target {
        path: "/o/.well-known/oauth-authorization-server",
        methods: &["GET"],
        params: &["x"],
    },
    Target {
        path: "/.well-known/oauth-authorization-server/o",
        methods: &["GET"],
        params: &["x"],
    },
    Target {
        path: "/o/.well-known/openid-configuration",
        methods: &["GET"],
        params: &["x"],
    },
    Target {
        path: "/o/.well-known/jwks.json",
        methods: &["GET"],
        params: &["x"],
    },
    Target {
        path: "/o/userinfo/",
        methods: &["GET", "POST"],
        params: &["access_token", "claims"],
    },
    Target {
        path: "/accounts/login/",
        methods: &["GET", "POST"],
        params: LOGIN_PARAMS,
    },
    Target {
        path: "/health",
        methods: &["GET"],
        params: &["x"],
    },
];

pub(crate) const METHODS: &[&str] = &[
    "GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD", "TRACE", "FOO",
];
pub(crate) const CONTENT_TYPES: &[&str] = &[
    FORM,
    "application/x-www-form-urlencoded; charset=utf-8",
    "APPLICATION/X-WWW-FORM-URLENCODED;charset=latin1",
    "application/json",
    "text/plain",
    "multipart/form-data; boundary=xyz",
    "",
    ";;;",
    "application/x-www-form-urlencoded\u{b}",
];
pub(crate) const JUNK_NAMES: &[&str] = &[
    "",
    "x",
    "grant_type[]",
    "GRANT_TYPE",
    "client_id ",
    "%zz",
    "%00",
    "a=b",
    "__proto__",
    "token\u{0}",
    "ünï",
];
pub(crate) const ENUM_VALUES: &[&str] = &[
    "authorization_code",
    "client_credentials",
    "password",
    "refresh_token",
    "urn:ietf:params:oauth:grant-type:device_code",
    "implicit",
    "code",
    "token",
    "id_token",
    "code id_token token",
    "S256",
    "plain",
    "openid",
    "read write",
    "read  write",
    "openid profile email",
    "access_token",
    "none",
    "login consent",
    "https://example.com/cb",
    "http://localhost/",
    "javascript:alert(1)",
    "/accounts/login/?next=/o/authorize/",
    "//evil.example",
    "true",
    "false",
    "{\"userinfo\":{\"email\":null}}",
];
pub(crate) const UNICODE_VALUES: &[&str] = &[
    "ünïcødé",
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢",
    "\u{202e}gnp.exe",
    "😀😀😀",
    "\u{feff}read",
    "ａｄｍｉｎ",
    "\u{0}",
];
pub(crate) const BAD_ESCAPES: &[&str] = &[
    "%zz",
    "%ff%fe",
    "%",
    "%4",
    "%%",
    "%u0041",
    "%C0%AF",
    "%ED%A0%80",
    "a%00b",
    "%00",
];

/// The values a real deployment would see: ids, secrets, tokens, the test user.
pub(crate) struct Known {
    pub(crate) values: Vec<String>,
    /// (client_id, secret) of the confidential apps.
    pub(crate) clients: Vec<(String, String)>,
    pub(crate) code_client_id: String,
    pub(crate) access_token: String,
    pub(crate) refresh_token: String,
}

pub(crate) fn percent_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One random value, as it goes on the wire (already encoded, or deliberately not).
pub(crate) fn fuzz_value(rng: &mut Rng, known: &Known) -> Vec<u8> {
    match rng.below(10) {
        0 => Vec::new(),
        1 => {
            let n = 10_000 + rng.below(10_000);
            let c = *rng.pick(b"a%Z0+=&");
            vec![c; n]
        }
        2 => rng
            .pick(&["%00", "abc%00def", "\0", "a\0b"])
            .as_bytes()
            .to_vec(),
        3 => rng.pick(BAD_ESCAPES).as_bytes().to_vec(),
        4 => {
            let n = 1 + rng.below(64);
            let raw = rng.bytes(n);
            if rng.percent(50) {
                percent_encode(&raw).into_bytes()
            } else {
                raw
            }
        }
        5 => {
            let u = rng.pick(UNICODE_VALUES).as_bytes();
            if rng.percent(50) {
                percent_encode(u).into_bytes()
            } else {
                u.to_vec()
            }
        }
        6 | 7 => percent_encode(rng.pick(&known.values).as_bytes()).into_bytes(),
        8 => percent_encode(rng.pick(ENUM_VALUES).as_bytes()).into_bytes(),
        _ => rng
            .pick(&[
                "-1",
                "0",
                "99999999999999999999",
                "1e9",
                "NaN",
                " ",
                "+",
                "null",
            ])
            .as_bytes()
            .to_vec(),
    }
}

/// A form (or something else) of random parameters for `target`.
/// A plausible request for `target` (what a real client would send), as pairs.
pub(crate) fn base_pairs(rng: &mut Rng, target: &Target, known: &Known) -> Vec<(Vec<u8>, Vec<u8>)> {
    let pairs: Vec<(&str, &str)> = match target.path {
        "/o/token/" => match rng.below(5) {
            0 => vec![("grant_type", "client_credentials"), ("scope", "read")],
            1 => vec![
                ("grant_type", "password"),
                ("username", "fuzzer"),
                ("password", "fuzz-password"),
            ],
            2 => vec![
                ("grant_type", "refresh_token"),
                ("refresh_token", &known.refresh_token),
            ],
            3 => vec![
                ("grant_type", "authorization_code"),
                ("code", "NotARealCode0123456789"),
                ("redirect_uri", "https://example.com/cb"),
                (
                    "code_verifier",
                    "dBjftJeZ4CVP-mJ92K1z3-k1W2mYAa0ZsQDCsh5hEKw",
                ),
                ("client_id", &known.code_client_id),
            ],
            _ => vec![
                ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
                ("device_code", "NotARealDeviceCode"),
            ],
        },
        "/o/authorize/" => vec![
            ("response_type", "code"),
            ("client_id", &known.code_client_id),
            ("redirect_uri", "https://example.com/cb"),
            ("scope", "read"),
            ("state", "xyz"),
            (
                "code_challenge",
                "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ),
            ("code_challenge_method", "S256"),
        ],
        "/o/revoke_token/" | "/o/introspect/" => vec![
            ("token", &known.access_token),
            ("token_type_hint", "access_token"),
        ],
        "/accounts/login/" => vec![
            ("username", "fuzzer"),
            ("password", "fuzz-password"),
            ("next", "/o/authorize/"),
        ],
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .map(|(n, v)| {
            (
                n.as_bytes().to_vec(),
                percent_encode(v.as_bytes()).into_bytes(),
            )
        })
        .collect()
}

/// A form of random parameters for `target`: a plausible request with some values replaced,
/// dropped or duplicated and junk added, or else all random.
pub(crate) fn fuzz_form(rng: &mut Rng, target: &Target, known: &Known, plausible: bool) -> Vec<u8> {
    let mut pairs: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
    let extra = if plausible {
        for (n, v) in base_pairs(rng, target, known) {
            match rng.below(10) {
                0 => {}                                           // dropped
                1 | 2 => pairs.push((n, fuzz_value(rng, known))), // replaced
                _ => pairs.push((n, v)),
            }
        }
        rng.below(4)
    } else {
        rng.below(9)
    };
    for _ in 0..extra {
        let name = if rng.percent(75) {
            rng.pick(target.params).as_bytes().to_vec()
        } else {
            percent_encode(rng.pick(JUNK_NAMES).as_bytes()).into_bytes()
        };
        let value = fuzz_value(rng, known);
        pairs.push((name, value));
        if rng.percent(15) {
            // Duplicated parameter, same or different value.
            let (n, v) = pairs[rng.below(pairs.len())].clone();
            let v = if rng.percent(50) {
                v
            } else {
                fuzz_value(rng, known)
            };
            pairs.push((n, v));
        }
    }
    let mut out = Vec::new();
    for (i, (n, v)) in pairs.iter().enumerate() {
        if i > 0 {
            out.push(b'&');
        }
        out.extend(n);
        if !(v.is_empty() && rng.percent(30)) {
            out.push(b'=');
            out.extend(v);
        }
    }
    if rng.percent(5) {
        out.extend(b"&&&=&=");
    }
    out
}

pub(crate) fn fuzz_authorization(rng: &mut Rng, known: &Known) -> Option<Vec<u8>> {
    Some(match rng.below(12) {
        0..=2 => return None,
        3 => {
            let n = 1 + rng.below(40);
            format!("Basic {}", base64(&rng.bytes(n))).into_bytes()
        }
        4 => basic(&rng.pick(&known.clients).0, "wrong-secret").into_bytes(),
        5 => {
            let (id, secret) = rng.pick(&known.clients);
            basic(id, secret).into_bytes()
        }
        6 => b"Basic !!!not base64!!!".to_vec(),
        7 => rng
            .pick(&[
                "Basic ",
                "Basic",
                "Bearer",
                "Bearer ",
                "Digest x",
                "basic Og==",
            ])
            .as_bytes()
            .to_vec(),
        8 => format!("Bearer {}", percent_encode(&rng.bytes(20))).into_bytes(),
        9 => format!("Bearer {}", known.access_token).into_bytes(),
        10 => {
            // obs-text: bytes 0x80..=0xFF are allowed in header values, and are not UTF-8.
            let mut v = b"Basic ".to_vec();
            v.extend((0..16).map(|_| 0x80 | rng.next() as u8));
            v
        }
        _ => format!("Basic {}", "QUFB".repeat(2000)).into_bytes(),
    })
}

/// One random request for `target`.
pub(crate) fn fuzz_request(rng: &mut Rng, target: &Target, known: &Known) -> (String, Vec<u8>) {
    let method = if rng.percent(80) {
        *rng.pick(target.methods)
    } else {
        *rng.pick(METHODS)
    };
    // Half the requests start from a plausible one (and then mostly carry valid client
    // credentials), so that the fuzz reaches past the first checks of each endpoint.
    let plausible = rng.percent(50);
    let form = fuzz_form(rng, target, known, plausible);
    let (query, body) = if method == "GET" || method == "HEAD" {
        let body = if rng.percent(10) {
            fuzz_form(rng, target, known, false)
        } else {
            Vec::new()
        };
        (form, body)
    } else {
        // Query strings on POST too, sometimes.
        let query = if rng.percent(20) {
            fuzz_form(rng, target, known, false)
        } else {
            Vec::new()
        };
        let body = match rng.below(20) {
            0 => {
                let n = rng.below(2048);
                rng.bytes(n)
            }
            1 => b"{\"grant_type\":\"client_credentials\"}".to_vec(),
            2 => vec![b'a'; 70_000], // past max_body_bytes: 413
            _ => form,
        };
        (query, body)
    };
    let mut head = Vec::new();
    head.extend(method.as_bytes());
    head.push(b' ');
    head.extend(target.path.as_bytes());
    if !query.is_empty() {
        head.push(b'?');
        // Bytes that would break the request line are escaped, and mostly the non-ASCII
        // ones too (else the URI is refused before any endpoint sees it); the rest go raw.
        let escape_high = rng.percent(80);
        for &b in &query {
            if b <= b' ' || b == b'#' || b == 0x7f || (b >= 0x80 && escape_high) {
                head.extend(format!("%{b:02X}").as_bytes());
            } else {
                head.push(b);
            }
        }
    }
    head.extend(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n");
    if !body.is_empty() || rng.percent(80) {
        match rng.below(10) {
            0 => {} // none
            1..=6 => head.extend(format!("Content-Type: {FORM}\r\n").as_bytes()),
            _ => head.extend(format!("Content-Type: {}\r\n", rng.pick(CONTENT_TYPES)).as_bytes()),
        }
    }
    let auth = if plausible && rng.percent(50) {
        let (id, secret) = rng.pick(&known.clients);
        Some(basic(id, secret).into_bytes())
    } else {
        fuzz_authorization(rng, known)
    };
    if let Some(auth) = auth {
        head.extend(b"Authorization: ");
        head.extend(auth);
        head.extend(b"\r\n");
    }
    if rng.percent(15) {
        head.extend(
            format!(
                "Cookie: sessionid={}; csrftoken=%zz\r\n",
                percent_encode(&rng.bytes(12))
            )
            .as_bytes(),
        );
    }
    if rng.percent(10) {
        head.extend(b"Origin: https://evil.example\r\n");
    }
    if rng.percent(2) {
        head.extend(b"X-Nul: a\0b\r\n"); // a NUL in a header value: malformed
    }
    head.extend(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
    head.extend(&body);
    (method.to_string(), head)
}
