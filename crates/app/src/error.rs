//! The errors of the use cases, typed so each adapter says them its way (exit code, HTTP
//! status, form errors), in French.

use std::fmt;

use cpts_store::StoreError;

use crate::policy::{Action, Principal};

/// An error on one field of a form or one line of a file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldError {
    /// The field (or column) concerned; empty for the whole input.
    pub field: String,
    /// The line of the file, when the input is a file.
    pub line: Option<usize>,
    pub message: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (self.line, self.field.is_empty()) {
            (Some(l), true) => write!(f, "ligne {l} : {}", self.message),
            (Some(l), false) => write!(f, "ligne {l}, {} : {}", self.field, self.message),
            (None, true) => f.write_str(&self.message),
            (None, false) => write!(f, "{} : {}", self.field, self.message),
        }
    }
}

#[derive(Debug)]
pub enum AppError {
    /// The thing does not exist, or is out of the principal's scope (never told apart).
    NotFound(String),
    /// The principal may read but not do this.
    Forbidden(String),
    /// The rules refuse the act (lifecycle guards, a payment before its gate...).
    Refused(Vec<String>),
    /// The input is wrong: field or line errors.
    Invalid(Vec<FieldError>),
    /// Someone changed the same thing in between: reload and start again.
    Conflict(String),
    /// The database cannot answer now (server down or restarting, connection lost, disk full):
    /// nothing was written, the same request may succeed later. The message, in French.
    Unavailable(String),
    /// The database cannot be used or failed.
    Store(StoreError),
    Internal(String),
}

impl AppError {
    pub fn forbidden(p: &Principal, action: Action) -> AppError {
        AppError::Forbidden(format!("non autorisé : le compte « {} » ne peut pas {} ; rien n'a été enregistré", p.login, action.label()))
    }

    pub fn refused(m: impl Into<String>) -> AppError {
        AppError::Refused(vec![m.into()])
    }

    /// One error on the whole input.
    pub fn invalid(m: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError { field: String::new(), line: None, message: m.into() }])
    }

    pub fn field(field: &str, m: impl Into<String>) -> AppError {
        AppError::Invalid(vec![FieldError { field: field.into(), line: None, message: m.into() }])
    }
}

impl fmt::Display for AppError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AppError::NotFound(m)
            | AppError::Forbidden(m)
            | AppError::Conflict(m)
            | AppError::Unavailable(m)
            | AppError::Internal(m) => {
                f.write_str(m)
            }
            AppError::Refused(reasons) => f.write_str(&reasons.join(" ; ")),
            AppError::Invalid(errors) => {
                let parts: Vec<String> = errors.iter().map(ToString::to_string).collect();
                f.write_str(&parts.join(" ; "))
            }
            AppError::Store(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for AppError {}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => AppError::NotFound(format!("CPTS « {id} » introuvable")),
            StoreError::AlreadyExists(_) | StoreError::Conflict { .. } => AppError::Conflict(e.to_string()),
            StoreError::Invalid(m) => AppError::Refused(vec![m]),
            StoreError::Unavailable(m) => AppError::Unavailable(m),
            StoreError::Open(_) | StoreError::Db(_) => AppError::Store(e),
        }
    }
}
