//! What a form shows when the application refuses it: a summary at the top (each message a
//! link to its field) and the message beside each field. The submitted values are kept by the
//! page's own view struct.

use cpts_app::AppError;
use jiff::civil::Date;

pub struct ErrorItem {
    /// The HTML id of the field, or "" for the whole form.
    pub field: String,
    pub message: String,
}

#[derive(Default)]
pub struct Errors {
    pub items: Vec<ErrorItem>,
}

impl Errors {
    /// Errors of the form; `fields` maps the application's field names to the form's ids.
    pub fn of(e: &AppError, fields: &[(&str, &str)]) -> Errors {
        let id = |f: &str| fields.iter().find(|(a, _)| *a == f).map_or(String::new(), |(_, h)| (*h).to_owned());
        let items = match e {
            AppError::Invalid(errs) => errs
                .iter()
                .map(|fe| ErrorItem {
                    field: id(&fe.field),
                    message: match fe.line {
                        Some(l) => format!("ligne {l} : {}", fe.message),
                        None => fe.message.clone(),
                    },
                })
                .collect(),
            AppError::Refused(reasons) => reasons.iter().map(|r| ErrorItem { field: String::new(), message: r.clone() }).collect(),
            other => vec![ErrorItem { field: String::new(), message: other.to_string() }],
        };
        Errors { items }
    }

    /// One error on one field, whatever the application said.
    pub fn field_error(field: &str, e: &AppError) -> Errors {
        let message = match e {
            AppError::Conflict(m) | AppError::NotFound(m) | AppError::Forbidden(m) => m.clone(),
            other => other.to_string(),
        };
        Errors { items: vec![ErrorItem { field: field.into(), message }] }
    }

    pub fn field_message(field: &str, message: impl Into<String>) -> Errors {
        Errors { items: vec![ErrorItem { field: field.into(), message: message.into() }] }
    }

    pub fn push(&mut self, field: &str, message: impl Into<String>) {
        self.items.push(ErrorItem { field: field.into(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The message of one field, for beside it.
    pub fn get(&self, field: &str) -> Option<&str> {
        self.items.iter().find(|i| i.field == field).map(|i| i.message.as_str())
    }
}

/// A date typed in a form (JJ/MM/AAAA or AAAA-MM-JJ, as `<input type="date">` sends it).
pub fn date(errors: &mut Errors, field: &str, text: &str) -> Option<Date> {
    match cpts_engine::dates::parse_french(text.trim()) {
        Ok(d) => Some(d),
        Err(_) if text.trim().is_empty() => {
            errors.push(field, "date obligatoire");
            None
        }
        Err(e) => {
            errors.push(field, e);
            None
        }
    }
}

/// An optional free text: None when blank.
pub fn opt(text: &str) -> Option<String> {
    let t = text.trim();
    (!t.is_empty()).then(|| t.to_owned())
}
