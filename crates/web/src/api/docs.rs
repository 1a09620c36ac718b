//! The API's documentation as a plain HTML page, made on the server from the OpenAPI document
//! itself (no script, nothing fetched: it works offline and without JavaScript).

use askama::Template;
use serde_json::Value;

pub struct Param {
    pub name: String,
    pub place: String,
    pub kind: String,
    pub required: bool,
    pub description: String,
}

pub struct Operation {
    pub anchor: String,
    pub method: String,
    pub path: String,
    pub summary: String,
    pub description: String,
    pub params: Vec<Param>,
    pub body: Option<String>,
    pub responses: Vec<(String, String)>,
}

pub struct Tag {
    pub name: String,
    pub description: String,
    pub operations: Vec<Operation>,
}

pub struct Schema {
    pub name: String,
    pub description: String,
    pub fields: Vec<Param>,
    /// For a schema that is not an object with properties (enum, one of...): its JSON.
    pub raw: Option<String>,
}

#[derive(Template)]
#[template(path = "api_docs.html")]
struct DocsPage {
    title: String,
    version: String,
    description: String,
    tags: Vec<Tag>,
    schemas: Vec<Schema>,
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

/// A description as HTML: escaped, its `code` spans (as the doc comments write them) shown as
/// code. Rendered unescaped by the template (`|safe`): nothing else of the text is markup.
fn rich(v: &Value, key: &str) -> String {
    let mut out = String::new();
    for (i, part) in text(v, key).split('`').enumerate() {
        let escaped = askama::filters::escape(part, askama::filters::Html).map(|e| e.to_string()).unwrap_or_default();
        if i % 2 == 1 {
            out.push_str(&format!("<code>{escaped}</code>"));
        } else {
            out.push_str(&escaped);
        }
    }
    out
}

/// A schema's type as a reader says it: a named schema, an array of..., a scalar with its format.
fn kind(s: &Value) -> String {
    if let Some(r) = s.get("$ref").and_then(Value::as_str) {
        return r.rsplit('/').next().unwrap_or(r).to_owned();
    }
    for key in ["oneOf", "anyOf", "allOf"] {
        if let Some(list) = s.get(key).and_then(Value::as_array) {
            let parts: Vec<String> = list.iter().map(kind).filter(|k| k != "null").collect();
            return parts.join(" | ");
        }
    }
    let types: Vec<String> = match s.get("type") {
        Some(Value::String(t)) => vec![t.clone()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).filter(|t| *t != "null").map(str::to_owned).collect(),
        _ => vec![],
    };
    let mut out = types.join(" | ");
    if out == "array" {
        out = format!("{}[]", s.get("items").map(kind).unwrap_or_default());
    }
    if let Some(f) = s.get("format").and_then(Value::as_str) {
        out = format!("{out} ({f})");
    }
    if out.is_empty() { "valeur".into() } else { out }
}

fn operations(doc: &Value) -> Vec<(String, Operation)> {
    let mut out = Vec::new();
    let Some(paths) = doc.get("paths").and_then(Value::as_object) else { return out };
    for (path, item) in paths {
        let Some(item) = item.as_object() else { continue };
        for (method, op) in item {
            let tag = op.get("tags").and_then(|t| t.get(0)).and_then(Value::as_str).unwrap_or("autres").to_owned();
            let params = op
                .get("parameters")
                .and_then(Value::as_array)
                .map(|ps| {
                    ps.iter()
                        .map(|p| Param {
                            name: text(p, "name"),
                            place: text(p, "in"),
                            kind: p.get("schema").map(kind).unwrap_or_default(),
                            required: p.get("required").and_then(Value::as_bool).unwrap_or(false),
                            description: rich(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let body = op.pointer("/requestBody/content/application~1json/schema").map(kind);
            let responses = op
                .get("responses")
                .and_then(Value::as_object)
                .map(|rs| {
                    rs.iter()
                        .map(|(code, r)| {
                            let schema = r.pointer("/content/application~1json/schema").map(kind).unwrap_or_default();
                            (code.clone(), schema)
                        })
                        .collect()
                })
                .unwrap_or_default();
            let summary = rich(op, "summary");
            out.push((
                tag,
                Operation {
                    anchor: format!("{method}-{}", path.replace(['/', '{', '}'], "-")),
                    method: method.to_uppercase(),
                    path: path.clone(),
                    description: rich(op, "description"),
                    summary,
                    params,
                    body,
                    responses,
                },
            ));
        }
    }
    out
}

fn schemas(doc: &Value) -> Vec<Schema> {
    let Some(all) = doc.pointer("/components/schemas").and_then(Value::as_object) else { return vec![] };
    all.iter()
        .map(|(name, s)| {
            let required: Vec<&str> =
                s.get("required").and_then(Value::as_array).map(|r| r.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
            let fields: Vec<Param> = s
                .get("properties")
                .and_then(Value::as_object)
                .map(|props| {
                    props
                        .iter()
                        .map(|(field, p)| Param {
                            name: field.clone(),
                            place: String::new(),
                            kind: kind(p),
                            required: required.contains(&field.as_str()),
                            description: rich(p, "description"),
                        })
                        .collect()
                })
                .unwrap_or_default();
            let raw = fields.is_empty().then(|| serde_json::to_string_pretty(s).unwrap_or_default());
            Schema { name: name.clone(), description: rich(s, "description"), fields, raw }
        })
        .collect()
}

/// The page for `doc`.
pub fn page(doc: &utoipa::openapi::OpenApi) -> String {
    let v = serde_json::to_value(doc).unwrap_or_default();
    let mut tags: Vec<Tag> = v
        .get("tags")
        .and_then(Value::as_array)
        .map(|ts| ts.iter().map(|t| Tag { name: text(t, "name"), description: rich(t, "description"), operations: vec![] }).collect())
        .unwrap_or_default();
    for (tag, op) in operations(&v) {
        match tags.iter_mut().find(|t| t.name == tag) {
            Some(t) => t.operations.push(op),
            None => tags.push(Tag { name: tag, description: String::new(), operations: vec![op] }),
        }
    }
    DocsPage {
        title: v.pointer("/info/title").and_then(Value::as_str).unwrap_or("API").to_owned(),
        version: v.pointer("/info/version").and_then(Value::as_str).unwrap_or_default().to_owned(),
        description: v.pointer("/info").map_or_else(String::new, |i| rich(i, "description")),
        tags,
        schemas: schemas(&v),
    }
    .render()
    .unwrap_or_else(|e| format!("documentation indisponible : {e}"))
}
