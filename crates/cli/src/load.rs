//! The edge: reading files, loading rules and reforms, naming the file in every error.

use std::fmt;
use std::path::{Path, PathBuf};

use cpts_domain::text::{self, Kind};
use cpts_engine::compute::EngineError;
use cpts_engine::contract::Contract;
use cpts_engine::input::{InputError, load_case};
use cpts_engine::rules::{RuleSet, RuleTexts, RulesError};

/// An error for the user, with the exit code it deserves.
#[derive(Debug)]
pub enum CliError {
    Io { file: PathBuf, error: std::io::Error },
    Input { file: PathBuf, errors: Vec<InputError> },
    Engine { file: PathBuf, error: EngineError },
    Rules(RulesError),
    Usage(String),
    Failed(String),
    /// The account may not do this (exit 3).
    Forbidden(String),
}

impl CliError {
    /// 2: the input is wrong (fix the file); 1: the computation or the tests failed; 3: the
    /// account may not do this.
    pub fn exit_code(&self) -> u8 {
        match self {
            CliError::Engine { .. } | CliError::Failed(_) => 1,
            CliError::Forbidden(_) => 3,
            _ => 2,
        }
    }
}

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CliError::Io { file, error } => write!(f, "erreur : {} : lecture impossible ({error})", file.display()),
            CliError::Input { file, errors } => {
                let s = if errors.len() > 1 { "s" } else { "" };
                writeln!(f, "erreur : {} : {} problème{s} dans le dossier :", file.display(), errors.len())?;
                for e in errors {
                    writeln!(f, "  - {e}")?;
                }
                Ok(())
            }
            CliError::Engine { file, error } => write!(f, "erreur : {} : {error}", file.display()),
            CliError::Rules(e) => write!(f, "erreur : {e}"),
            CliError::Usage(m) | CliError::Failed(m) | CliError::Forbidden(m) => write!(f, "erreur : {m}"),
        }
    }
}

/// User texts given on the command line, each checked by the domain's one text check.
pub fn check_texts(fields: &[(&str, Option<&str>, Kind)]) -> Result<(), CliError> {
    let errors: Vec<String> =
        fields.iter().filter_map(|(field, value, kind)| text::check_opt(field, *value, *kind).err()).collect();
    if errors.is_empty() {
        Ok(())
    } else {
        Err(CliError::Usage(format!("refusé, rien n'a été enregistré : {}", errors.join(" ; "))))
    }
}

/// A YAML file (case, rules, annex, amendment, report), read whole: at most
/// `text::DOCUMENT_MAX` bytes, so a huge file is refused before it is read.
pub fn read(path: &Path) -> Result<String, CliError> {
    use std::io::Read;
    let io = |error| CliError::Io { file: path.to_path_buf(), error };
    let max = text::DOCUMENT_MAX;
    let too_big = || CliError::Input {
        file: path.to_path_buf(),
        errors: vec![InputError {
            field: String::new(),
            message: format!("fichier trop gros : {max} octets au plus"),
            line: None,
        }],
    };
    let file = std::fs::File::open(path).map_err(io)?;
    // Read one byte past the limit (the size a device or pipe announces is not to be trusted).
    let limit = u64::try_from(max).unwrap_or(u64::MAX).saturating_add(1);
    let mut bytes = Vec::new();
    file.take(limit).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() > max {
        return Err(too_big());
    }
    let text = String::from_utf8(bytes).map_err(|_| CliError::Input {
        file: path.to_path_buf(),
        errors: vec![InputError {
            field: String::new(),
            message: "le fichier n'est pas en UTF-8 (enregistrez-le en UTF-8)".into(),
            line: None,
        }],
    })?;
    // A UTF-8 byte-order mark is common in files saved on Windows.
    Ok(text.strip_prefix('\u{feff}').map(str::to_string).unwrap_or(text))
}

/// The shipped rules, or the rule files of a folder (to try an avenant without rebuilding).
pub fn rules(dir: Option<&Path>) -> Result<RuleSet, CliError> {
    let Some(dir) = dir else { return RuleSet::builtin().map_err(CliError::Rules) };
    let f = |name: &str| read(&dir.join(name));
    let (sources, versions, parameters, missions) =
        (f("sources.yaml")?, f("versions.yaml")?, f("parameters.yaml")?, f("missions.yaml")?);
    RuleSet::from_texts(&RuleTexts {
        sources: &sources,
        versions: &versions,
        parameters: &parameters,
        missions: &missions,
    })
    .map_err(CliError::Rules)
}

/// A reform by id (shipped) or by path.
pub fn reform(base: &RuleSet, which: &str) -> Result<RuleSet, CliError> {
    if let Some(r) = base.builtin_reform(which) {
        return r.map_err(CliError::Rules);
    }
    let path = Path::new(which);
    if !path.exists() {
        let known: Vec<&str> = cpts_engine::rules::BUILTIN_REFORMS.iter().map(|r| r.0).collect();
        return Err(CliError::Usage(format!(
            "réforme « {which} » introuvable : ni un fichier, ni une réforme livrée ({})",
            known.join(", ")
        )));
    }
    base.with_reform(&path.display().to_string(), &read(path)?).map_err(CliError::Rules)
}

pub fn case(rules: &RuleSet, path: &Path) -> Result<Contract, CliError> {
    load_case(&read(path)?, rules).map_err(|errors| CliError::Input { file: path.to_path_buf(), errors })
}

/// Files named on the command line; a folder stands for its `.yaml`/`.yml` files.
pub fn expand(paths: &[PathBuf]) -> Result<Vec<PathBuf>, CliError> {
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let entries = std::fs::read_dir(p).map_err(|error| CliError::Io { file: p.clone(), error })?;
            let mut files: Vec<PathBuf> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|f| f.extension().is_some_and(|e| e == "yaml" || e == "yml"))
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}
