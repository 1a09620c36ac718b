//! One file sent by a form (multipart): read whole up to a size cap, its name kept for the
//! provenance. What goes wrong is said in French with the status to answer.

use axum::extract::Multipart;
use axum::http::StatusCode;

/// The largest file imported from the web (the CLI takes more: its files are local); route
/// body limits add room for the form's other fields.
pub const MAX_UPLOAD: usize = 10 << 20;

pub struct Upload {
    /// The file's name: its last component, printable, bounded.
    pub name: Option<String>,
    pub bytes: Vec<u8>,
    /// The form's other fields (short texts: options of the import).
    pub fields: Vec<(String, String)>,
}

impl Upload {
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// The longest text field read beside the file.
const FIELD_MAX: usize = 1024;

/// What went wrong, and the file's name when known.
pub struct Problem {
    pub status: StatusCode,
    pub message: String,
    pub name: Option<String>,
}

fn file_name(name: Option<&str>) -> Option<String> {
    let n = name?.rsplit(['/', '\\']).next()?.trim();
    let n: String = n.chars().filter(|c| !c.is_control()).take(120).collect();
    (!n.is_empty()).then_some(n)
}

fn problem(e: &axum::extract::multipart::MultipartError, name: Option<String>) -> Problem {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        too_big(name)
    } else {
        Problem { status: StatusCode::BAD_REQUEST, message: format!("envoi illisible : {}", e.body_text()), name }
    }
}

fn too_big(name: Option<String>) -> Problem {
    Problem {
        status: StatusCode::PAYLOAD_TOO_LARGE,
        message: format!("le fichier dépasse {} Mo : découpez-le en plusieurs imports", MAX_UPLOAD >> 20),
        name,
    }
}

/// The file of the form's field `field`, and the other (short) fields; an empty or missing file
/// is a problem too.
pub async fn file(mut form: Multipart, field: &str) -> Result<Upload, Problem> {
    let mut file: Option<(Option<String>, Vec<u8>)> = None;
    let mut fields = Vec::new();
    while let Some(mut f) = form.next_field().await.map_err(|e| problem(&e, None))? {
        let is_file = f.name() == Some(field);
        let name = if is_file { file_name(f.file_name()) } else { None };
        let key = f.name().unwrap_or_default().to_owned();
        let cap = if is_file { MAX_UPLOAD } else { FIELD_MAX };
        let mut bytes = Vec::new();
        while let Some(c) = f.chunk().await.map_err(|e| problem(&e, name.clone()))? {
            if bytes.len() + c.len() > cap {
                return Err(if is_file { too_big(name) } else { problem_text(&key) });
            }
            bytes.extend_from_slice(&c);
        }
        if is_file {
            file = Some((name, bytes));
        } else {
            fields.push((key, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    match file {
        Some((name, bytes)) if !bytes.is_empty() => Ok(Upload { name, bytes, fields }),
        _ => Err(Problem { status: StatusCode::UNPROCESSABLE_ENTITY, message: "choisissez un fichier CSV ou XLSX à importer".into(), name: None }),
    }
}

fn problem_text(key: &str) -> Problem {
    Problem { status: StatusCode::BAD_REQUEST, message: format!("champ « {key} » trop long"), name: None }
}

/// Read a CSV or XLSX file as a table, off the async workers (a large workbook is CPU work).
pub async fn table(bytes: Vec<u8>) -> Result<Result<cpts_domain::table::RawTable, cpts_domain::table::LineError>, crate::error::WebError> {
    tokio::task::spawn_blocking(move || cpts_render::read_table(&bytes)).await.map_err(crate::error::WebError::internal)
}
