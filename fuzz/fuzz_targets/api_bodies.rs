//! Every operation of the JSON API, as its OpenAPI document lists them: each body under each
//! content type the operation declares (JSON, YAML, CSV, XLSX…), each query string of the
//! others, sent with an admin's token through the whole router. Input: a byte choosing the
//! operation, a byte choosing the CPTS and the path's numbers, a byte choosing the content
//! type, then the body or the query string. No answer may be a 5xx, nothing may panic.
#![no_main]

use std::sync::Mutex;

use cpts_fuzz::server::{Call, IDS, Server, query};
use libfuzzer_sys::fuzz_target;

static SERVER: Mutex<Option<Server>> = Mutex::new(None);

fuzz_target!(|data: &[u8]| {
    let [op, pick, kind, body @ ..] = data else { return };
    let ops = cpts_fuzz::server::operations();
    let Some(op) = ops.get(usize::from(*op) % ops.len().max(1)) else { return };
    let mut path = String::new();
    for (i, part) in op.path.split('/').enumerate() {
        if i > 0 {
            path.push('/');
        }
        match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
            Some("id") => path.push_str(IDS[usize::from(pick & 3)]),
            Some(_) => path.push_str(&(1 + u32::from(pick >> 2) % 4).to_string()),
            None => path.push_str(part),
        }
    }
    let mut guard = SERVER.lock().unwrap_or_else(|e| e.into_inner());
    let server = guard.get_or_insert_with(Server::new);
    let call = if op.content_types.is_empty() {
        Call { method: op.method, path: format!("{path}?{}", query(body)), content_type: None, body: &[], api: true }
    } else {
        let t = &op.content_types[usize::from(*kind) % op.content_types.len()];
        Call { method: op.method, path, content_type: Some(t.clone()), body, api: true }
    };
    server.call(call);
});
