//! Who may do what, where: one table, asked by every use case before it acts. Its copy for
//! readers is in docs/permissions.md (a test keeps the two identical).
//!
//! A grant gives a role over a scope: a CPTS (coordinateur, membre), a département (agent
//! CPAM), a région (agent ARS) or the whole country (admin national). A CPTS is in a
//! département's or a région's scope through its seat and its territory.

use std::collections::BTreeSet;
use std::fmt;

use cpts_domain::ids::CptsId;
use cpts_store::{Areas, Visible};

/// The roles an account can be granted.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Runs one CPTS: reads and writes its data, submits its reports.
    Coordinateur,
    /// Member of one CPTS: reads.
    Membre,
    /// CPAM agent of a département.
    AgentCpam,
    /// ARS agent of a région.
    AgentArs,
    /// National level: everything, and the accounts.
    AdminNational,
}

impl Role {
    pub const ALL: [Role; 5] = [Role::Coordinateur, Role::Membre, Role::AgentCpam, Role::AgentArs, Role::AdminNational];

    pub fn code(self) -> &'static str {
        match self {
            Role::Coordinateur => "coordinateur",
            Role::Membre => "membre",
            Role::AgentCpam => "agent-cpam",
            Role::AgentArs => "agent-ars",
            Role::AdminNational => "admin-national",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Role::Coordinateur => "coordinateur",
            Role::Membre => "membre",
            Role::AgentCpam => "agent CPAM",
            Role::AgentArs => "agent ARS",
            Role::AdminNational => "admin national",
        }
    }

    pub fn parse(s: &str) -> Result<Role, String> {
        let s = s.trim().to_lowercase().replace([' ', '_'], "-");
        Role::ALL.into_iter().find(|r| r.code() == s).ok_or_else(|| {
            format!("rôle inconnu « {s} » (attendu : coordinateur, membre, agent-cpam, agent-ars ou admin-national)")
        })
    }

    /// What kind of scope the role is granted over.
    pub fn scope_kind(self) -> ScopeKind {
        match self {
            Role::Coordinateur | Role::Membre => ScopeKind::Cpts,
            Role::AgentCpam => ScopeKind::Departement,
            Role::AgentArs => ScopeKind::Region,
            Role::AdminNational => ScopeKind::National,
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.label())
    }
}

#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ScopeKind {
    Cpts,
    Departement,
    Region,
    National,
}

/// Where a grant applies.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Scope {
    Cpts(CptsId),
    Departement(String),
    Region(String),
    National,
}

impl Scope {
    /// The stored form: the CPTS id, the département or région code, '' for national.
    pub fn code(&self) -> &str {
        match self {
            Scope::Cpts(id) => id.as_str(),
            Scope::Departement(c) | Scope::Region(c) => c,
            Scope::National => "",
        }
    }

    /// Does this scope cover a CPTS with these areas?
    pub fn covers(&self, id: &CptsId, areas: &Areas) -> bool {
        match self {
            Scope::Cpts(c) => c == id,
            Scope::Departement(d) => areas.departements.contains(d),
            Scope::Region(r) => areas.regions.contains(r),
            Scope::National => true,
        }
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scope::Cpts(id) => write!(f, "CPTS {id}"),
            Scope::Departement(d) => write!(f, "département {d}"),
            Scope::Region(r) => write!(f, "région {r}"),
            Scope::National => f.write_str("national"),
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Grant {
    pub role: Role,
    pub scope: Scope,
}

/// Every act the application knows, read or write. The code is what the audit log records.
#[derive(Copy, Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Action {
    /// Read a CPTS's data: registry, members, contracts, ledger, values, reports, alerts.
    Read,
    /// Read the audit log of the CPTS in scope (the whole log: national).
    ReadAudit,
    CreateCpts,
    EditIdentity,
    EditTerritory,
    EditMembers,
    EditStructures,
    /// Mandates and statutes.
    EditGovernance,
    /// Lifecycle steps the CPTS takes (declaration, letter of intent, projet de santé filed).
    StepCpts,
    /// Lifecycle decisions of the ARS (letter validated, phase 1, projet de santé validated).
    StepArs,
    /// Lifecycle steps of the CPAM.
    StepCpam,
    /// Sign the ACI contract (the CPAM, the ARS co-signing) and renew it.
    SignContract,
    TerminateContract,
    AmendContract,
    /// Mission starts and full deployments.
    MissionProgress,
    /// Record a payment of the Assurance Maladie (ACI lines).
    PayAci,
    /// ARS/FIR conventions and their payments.
    ConventionArs,
    /// Conventions of other funders (local authorities, Europe, private) and their payments.
    ConventionOther,
    ImportValues,
    /// Draft, submit, answer the activity report.
    WriteReport,
    /// Review, return and validate the activity report.
    ReviewReport,
    ManageAccounts,
    /// Create, list and revoke one's own API tokens (a token carries its owner's rights).
    OwnTokens,
    /// Walk the whole audit log's hash chain (national: the chain is one for the store).
    VerifyAudit,
    /// Write a backup of the whole store.
    Backup,
    /// Replace the store's content by a backup's.
    Restore,
}

impl Action {
    pub const ALL: [Action; 26] = [
        Action::Read,
        Action::ReadAudit,
        Action::CreateCpts,
        Action::EditIdentity,
        Action::EditTerritory,
        Action::EditMembers,
        Action::EditStructures,
        Action::EditGovernance,
        Action::StepCpts,
        Action::StepArs,
        Action::StepCpam,
        Action::SignContract,
        Action::TerminateContract,
        Action::AmendContract,
        Action::MissionProgress,
        Action::PayAci,
        Action::ConventionArs,
        Action::ConventionOther,
        Action::ImportValues,
        Action::WriteReport,
        Action::ReviewReport,
        Action::ManageAccounts,
        Action::OwnTokens,
        Action::VerifyAudit,
        Action::Backup,
        Action::Restore,
    ];

    pub fn code(self) -> &'static str {
        match self {
            Action::Read => "lecture",
            Action::ReadAudit => "audit.lecture",
            Action::CreateCpts => "cpts.creation",
            Action::EditIdentity => "cpts.identite",
            Action::EditTerritory => "cpts.territoire",
            Action::EditMembers => "membres",
            Action::EditStructures => "structures",
            Action::EditGovernance => "gouvernance",
            Action::StepCpts => "cycle.cpts",
            Action::StepArs => "cycle.ars",
            Action::StepCpam => "cycle.cpam",
            Action::SignContract => "contrat.signature",
            Action::TerminateContract => "contrat.resiliation",
            Action::AmendContract => "contrat.avenant",
            Action::MissionProgress => "contrat.missions",
            Action::PayAci => "paiement.aci",
            Action::ConventionArs => "convention.ars",
            Action::ConventionOther => "convention.autre",
            Action::ImportValues => "valeurs",
            Action::WriteReport => "rapport.redaction",
            Action::ReviewReport => "rapport.instruction",
            Action::ManageAccounts => "comptes",
            Action::OwnTokens => "jetons",
            Action::VerifyAudit => "audit.verification",
            Action::Backup => "sauvegarde",
            Action::Restore => "restauration",
        }
    }

    /// What is refused, said to the user.
    pub fn label(self) -> &'static str {
        match self {
            Action::Read => "consulter les données de cette CPTS",
            Action::ReadAudit => "consulter le journal d'audit",
            Action::CreateCpts => "créer une CPTS",
            Action::EditIdentity => "modifier l'identité de la CPTS",
            Action::EditTerritory => "modifier le territoire de la CPTS",
            Action::EditMembers => "modifier les membres de la CPTS",
            Action::EditStructures => "modifier les structures membres",
            Action::EditGovernance => "modifier la gouvernance et les statuts",
            Action::StepCpts => "enregistrer une étape de la CPTS",
            Action::StepArs => "enregistrer une décision de l'ARS",
            Action::StepCpam => "enregistrer une étape de la CPAM",
            Action::SignContract => "signer ou renouveler le contrat ACI",
            Action::TerminateContract => "résilier le contrat ACI",
            Action::AmendContract => "enregistrer un avenant",
            Action::MissionProgress => "enregistrer l'avancement des missions",
            Action::PayAci => "enregistrer un paiement de l'Assurance Maladie",
            Action::ConventionArs => "enregistrer une convention ou un paiement de l'ARS",
            Action::ConventionOther => "enregistrer une convention ou un paiement d'un autre financeur",
            Action::ImportValues => "saisir ou importer des valeurs d'indicateurs",
            Action::WriteReport => "rédiger ou déposer le rapport d'activité",
            Action::ReviewReport => "instruire ou valider le rapport d'activité",
            Action::ManageAccounts => "gérer les comptes",
            Action::OwnTokens => "gérer ses jetons d'API",
            Action::VerifyAudit => "vérifier l'intégrité du journal d'audit",
            Action::Backup => "sauvegarder toute la base",
            Action::Restore => "restaurer une sauvegarde",
        }
    }
}

use Role::{AdminNational as ADM, AgentArs as ARS, AgentCpam as CPAM, Coordinateur as COORD, Membre as MEMB};

/// THE policy: for each action, the roles that may take it (within their scope).
pub const POLICY: &[(Action, &[Role])] = &[
    (Action::Read, &[COORD, MEMB, CPAM, ARS, ADM]),
    (Action::ReadAudit, &[COORD, CPAM, ARS, ADM]),
    (Action::CreateCpts, &[ARS, ADM]),
    (Action::EditIdentity, &[COORD, ADM]),
    (Action::EditTerritory, &[COORD, ARS, ADM]),
    (Action::EditMembers, &[COORD, ADM]),
    (Action::EditStructures, &[COORD, ADM]),
    (Action::EditGovernance, &[COORD, ADM]),
    (Action::StepCpts, &[COORD, ADM]),
    (Action::StepArs, &[ARS, ADM]),
    (Action::StepCpam, &[CPAM, ADM]),
    (Action::SignContract, &[CPAM, ARS, ADM]),
    (Action::TerminateContract, &[CPAM, ADM]),
    (Action::AmendContract, &[CPAM, ADM]),
    (Action::MissionProgress, &[COORD, ADM]),
    (Action::PayAci, &[CPAM, ADM]),
    (Action::ConventionArs, &[ARS, ADM]),
    (Action::ConventionOther, &[COORD, ADM]),
    (Action::ImportValues, &[COORD, CPAM, ADM]),
    (Action::WriteReport, &[COORD, ADM]),
    (Action::ReviewReport, &[CPAM, ADM]),
    (Action::ManageAccounts, &[ADM]),
    (Action::OwnTokens, &[COORD, MEMB, CPAM, ARS, ADM]),
    (Action::VerifyAudit, &[ADM]),
    (Action::Backup, &[ADM]),
    (Action::Restore, &[ADM]),
];

/// The roles allowed to take `action`.
pub fn roles(action: Action) -> &'static [Role] {
    POLICY.iter().find(|(a, _)| *a == action).map_or(&[], |(_, r)| r)
}

/// The acting account: who, with which grants, in which request. The CLI without an account
/// acts as the local operator, with national rights, recorded as such.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Principal {
    pub login: String,
    pub name: String,
    pub grants: BTreeSet<Grant>,
    /// The request or batch this act belongs to (written in the audit log).
    pub request: String,
}

/// The login recorded for the local operator (the CLI run without an account).
pub const LOCAL_OPERATOR: &str = "operateur-local";

impl Principal {
    pub fn local_operator(request: impl Into<String>) -> Principal {
        Principal {
            login: LOCAL_OPERATOR.into(),
            name: "Opérateur local (ligne de commande)".into(),
            grants: BTreeSet::from([Grant { role: Role::AdminNational, scope: Scope::National }]),
            request: request.into(),
        }
    }

    /// The role under which `action` is allowed on a CPTS with these areas, if any (the most
    /// local grant first, so the audit says « coordinateur » rather than « admin national »).
    pub fn allowed_on(&self, action: Action, id: &CptsId, areas: &Areas) -> Option<Role> {
        let allowed = roles(action);
        let mut fitting: Vec<&Grant> =
            self.grants.iter().filter(|g| allowed.contains(&g.role) && g.scope.covers(id, areas)).collect();
        fitting.sort_by_key(|g| g.role);
        fitting.first().map(|g| g.role)
    }

    /// The role under which `action` is allowed somewhere in this principal's scopes, if any
    /// (to offer a page at all, or for acts that concern no CPTS: one's own tokens, a
    /// computation on a contract sent).
    pub fn allowed_somewhere(&self, action: Action) -> Option<Role> {
        let allowed = roles(action);
        self.grants.iter().map(|g| g.role).find(|r| allowed.contains(r))
    }

    /// The role under which a national `action` (not about one CPTS) is allowed, if any.
    pub fn allowed_nationally(&self, action: Action) -> Option<Role> {
        let allowed = roles(action);
        self.grants.iter().find(|g| allowed.contains(&g.role) && g.scope == Scope::National).map(|g| g.role)
    }

    /// The CPTS this principal may `action` on, as a filter the store turns into SQL.
    pub fn visible(&self, action: Action) -> Visible {
        let mut v = Visible::default();
        for g in self.grants.iter().filter(|g| roles(action).contains(&g.role)) {
            match &g.scope {
                Scope::National => v.all = true,
                Scope::Cpts(id) => {
                    v.cpts.insert(id.to_string());
                }
                Scope::Departement(d) => {
                    v.departements.insert(d.clone());
                }
                Scope::Region(r) => {
                    v.regions.insert(r.clone());
                }
            }
        }
        v
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::indexing_slicing)]

    use super::*;

    #[test]
    fn every_action_has_one_rule_and_the_admin_may_do_everything() {
        for a in Action::ALL {
            assert_eq!(POLICY.iter().filter(|(x, _)| *x == a).count(), 1, "{a:?}");
            assert!(roles(a).contains(&Role::AdminNational), "{a:?}");
        }
        assert_eq!(POLICY.len(), Action::ALL.len());
    }

    #[test]
    fn the_docs_copy_of_the_policy_is_the_table() {
        let docs = include_str!("../../../docs/permissions.md");
        let table = crate::policy_markdown();
        assert!(docs.contains(&table), "docs/permissions.md is stale; its table must be:\n{table}");
    }
}
